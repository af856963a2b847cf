import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import { listRuns } from "@ferry/edge-agent/local-run";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE } from "../support/aws-flags.ts";
import { loadRun } from "./run.ts";

export const runsCommand: CliCommand = {
  usage: "Usage: ferry runs [--json]\n\nLists the runs recorded under .ferry/runs, newest first.",
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    const runs = await listRuns(findProjectRoot(io.cwd));
    if (values.json) {
      io.stdout(
        `${JSON.stringify(runs.map(({ runId, workflow, status, startedAt, durationMs }) => ({ runId, workflow, status, startedAt, durationMs })))}\n`,
      );
      return 0;
    }
    if (runs.length === 0) {
      io.stdout("no runs yet — start one with: npx ferry run examples/hello/workflow.yaml\n");
      return 0;
    }
    io.stdout(
      `${"RUN".padEnd(24)} ${"WORKFLOW".padEnd(20)} ${"STATUS".padEnd(10)} ${"STARTED".padEnd(20)} DURATION\n`,
    );
    for (const r of runs) {
      const duration = r.durationMs === undefined ? "" : `${(r.durationMs / 1000).toFixed(2)}s`;
      io.stdout(
        `${r.runId.padEnd(24)} ${r.workflow.padEnd(20)} ${r.status.padEnd(10)} ${r.startedAt.slice(0, 19).replace("T", " ").padEnd(20)} ${duration}\n`,
      );
    }
    return 0;
  },
};

export const logsCommand: CliCommand = {
  usage: `Usage: ferry logs <RUN_ID|last> [STEP]
       ferry logs <execution-arn> [STEP] [--endpoint-url URL] [--region REGION]

Prints every attempt's log of a local run, or of one step. With an execution
ARN of a deployed workflow, prints the logs its edge agents uploaded to the
job-files bucket (<workflow>/<site>/<execution>/.ferry/logs/<step>/<attempt>.log),
the last 64 KiB of each.
${AWS_FLAGS_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS },
    });
    if (positionals.length < 1 || positionals.length > 2)
      throw new UsageError('name a run (or "last") or an execution ARN, and optionally a step');
    if (positionals[0]!.startsWith("arn:"))
      return (await import("../support/cloud-logs.ts")).cloudLogs(
        positionals[0]!,
        positionals[1],
        values,
        io,
      );
    const { record, runDir } = await loadRun(findProjectRoot(io.cwd), positionals[0]!);
    const step = positionals[1];
    if (step !== undefined && !record.steps.some((s) => s.name === step)) {
      throw new UsageError(
        `run ${record.runId} has no step "${step}"; its steps: ${record.steps.map((s) => s.name).join(", ")}`,
      );
    }
    const order = new Map(record.steps.map((s, i) => [s.name, i]));
    const files = (await readdir(join(runDir, "logs")))
      .filter((f) => step === undefined || f.startsWith(`${step}.attempt-`))
      .sort(
        (a, b) =>
          (order.get(a.split(".attempt-")[0]!) ?? 0) - (order.get(b.split(".attempt-")[0]!) ?? 0) ||
          a.localeCompare(b, undefined, { numeric: true }),
      );
    if (files.length === 0) io.stdout(`no logs${step ? ` for step ${step}` : ""} in run ${record.runId}\n`);
    for (const file of files)
      io.stdout(`==> ${join("logs", file)} <==\n${await readFile(join(runDir, "logs", file), "utf8")}\n`);
    return 0;
  },
};
