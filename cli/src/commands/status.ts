import { parseArgs } from "node:util";
import { executionStatus } from "@ferry/infra/cloud";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import {
  AWS_FLAGS,
  AWS_FLAGS_USAGE,
  awsContextFor,
  loadWorkflow,
  reportDeployError,
} from "../support/cloud-commands.ts";
import { formatStatus } from "../support/format-status.ts";

const USAGE = `Usage: ferry status <execution-arn> [options]
       ferry status <RUN_ID|last> [--json]

A local run (ferry run) by id: one row per step with its status, attempts,
time and how many of its attempts the step cache answered (and from which run).

Prints one row per step of a deployed workflow's execution, from its Step
Functions history: state, attempts (every retry is one), foreach items,
duration, the attempts the step cache answered (from the workers' provenance
records), and the last error and cause. Child executions follow, indented.
States map to steps through the state index ferry deploy stored (or the
spec's, with --spec).

Options:
  --spec FILE     map states with this spec's compiled state index
  --json          print the report as JSON
  --full          do not shorten causes
${AWS_FLAGS_USAGE}`;

/** `ferry status`: the per-step table of one execution. */
export const statusCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...AWS_FLAGS,
        spec: { type: "string" },
        json: { type: "boolean" },
        full: { type: "boolean" },
      },
    });
    if (positionals.length !== 1)
      throw new UsageError("name one execution ARN (ferry start prints it) or a local run id");
    if (!positionals[0]!.startsWith("arn:")) return localStatus(positionals[0]!, Boolean(values.json), io);
    let index: Parameters<typeof executionStatus>[2];
    if (values.spec) {
      const loaded = await loadWorkflow(values.spec, io);
      if (!loaded) return 1;
      index = loaded.compiled.stateMachine.states;
    }
    const context = awsContextFor(values, io.env);
    try {
      const status = await executionStatus(context, positionals[0]!, index, { cacheHits: true });
      io.stdout(
        values.json
          ? `${JSON.stringify(status, null, 2)}\n`
          : `${formatStatus(status, values.full ? { causeWidth: 100_000 } : {})}\n`,
      );
      return 0;
    } catch (error) {
      return reportDeployError("status", error, io);
    }
  },
};

/** `ferry status <run-id>`: the per-step table of a local run, cache hits included. */
async function localStatus(id: string, json: boolean, io: CliIo): Promise<number> {
  const [{ findProjectRoot }, { loadRun }, { cacheNote }] = await Promise.all([
    import("@ferry/dsl-compiler"),
    import("./run.ts"),
    import("@ferry/edge-agent/local-run"),
  ]);
  const { record } = await loadRun(findProjectRoot(io.cwd), id);
  if (json) {
    io.stdout(`${JSON.stringify(record, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(4, ...record.steps.map((s) => s.name.length));
  io.stdout(`${record.workflow} run ${record.runId}: ${record.status}\n`);
  io.stdout(
    `${"STEP".padEnd(width)}  ${"STATUS".padEnd(9)} ${"ATTEMPTS".padStart(8)} ${"TIME".padStart(8)}  CACHE\n`,
  );
  for (const s of record.steps) {
    const ms = s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : undefined;
    io.stdout(
      `${s.name.padEnd(width)}  ${s.status.toLowerCase().padEnd(9)} ${String(s.attempts).padStart(8)} ${(ms === undefined ? "" : `${(ms / 1000).toFixed(2)}s`).padStart(8)}  ${s.cacheHits ? `hit${cacheNote(s)}` : "-"}\n`,
    );
  }
  return 0;
}
