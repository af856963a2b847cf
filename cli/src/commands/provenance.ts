import { join } from "node:path";
import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import type { ProvenanceRecord } from "@ferry/dsl-compiler/contract";
import { listRuns, runsRoot } from "@ferry/edge-agent/local-run";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE } from "../support/aws-flags.ts";
import {
  lineageDot,
  lineageProvJson,
  lineageTable,
  producedBy,
  readRunProvenance,
} from "../support/lineage.ts";
import { loadRun } from "./run.ts";

const FORMATS = ["table", "prov-json", "dot"] as const;
type Format = (typeof FORMATS)[number];

export const provenanceCommand: CliCommand = {
  usage: `Usage: ferry provenance <RUN_ID|last> [--format table|prov-json|dot]
       ferry provenance <EXECUTION_ARN> [--format table|prov-json|dot] [--endpoint-url URL] [--region R]
       ferry provenance --file <KEY|NAME|SHA256> [--json]

Prints the lineage of a local run from its provenance records (one per step
attempt, under .ferry/runs/<run-id>/files/.../.ferry/provenance/): what ran
(definition hash, image digest or code hash), on which inputs, on which
device, whether the cache answered it, and the run that produced every
output file. --format prov-json prints W3C PROV-JSON, --format dot a
Graphviz graph.

Given an execution ARN (ferry start prints it), it reads the same records
from the deployed workflow's job bucket, where every site's agents and the
Lambda function steps write them (<workflow>/<site>/<execution>/.ferry/provenance/).

${AWS_FLAGS_USAGE}
--file answers which runs produced or used a job file, named by its key
(<workflow>/<site>/<execution>/<name>), its name, or its sha256 (a prefix
of 8 or more hex digits is enough).`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        file: { type: "string" },
        json: { type: "boolean" },
        ...AWS_FLAGS,
      },
    });
    const projectDir = findProjectRoot(io.cwd);
    if (values.file !== undefined) {
      if (positionals.length > 0) throw new UsageError("--file searches every run: name no run with it");
      return fileLineage(projectDir, values.file, Boolean(values.json), io.stdout);
    }
    if (positionals.length !== 1) throw new UsageError('name one run (or "last"), or give --file');
    const format = (values.format ?? "table") as Format;
    if (!FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${values.format}"`);
    if (positionals[0]!.startsWith("arn:")) return executionLineage(positionals[0]!, format, values, io);
    const { record, runDir } = await loadRun(projectDir, positionals[0]!);
    const records = await readRunProvenance(runDir);
    if (records.length === 0) {
      io.stdout(
        `run ${record.runId} has no provenance records (runs before provenance was recorded have none)\n`,
      );
      return 0;
    }
    printLineage(records, format, `${record.workflow} run ${record.runId} (${record.status})`, io);
    return 0;
  },
};

function printLineage(records: ProvenanceRecord[], format: Format, title: string, io: CliIo): void {
  if (format === "prov-json") io.stdout(`${JSON.stringify(lineageProvJson(records), null, 2)}\n`);
  else if (format === "dot") io.stdout(`${lineageDot(records)}\n`);
  else io.stdout(`${title}\n${lineageTable(records)}\n`);
}

/** `ferry provenance <execution-arn>`: the records the workers of a deployed workflow wrote to its bucket. */
async function executionLineage(
  executionArn: string,
  format: Format,
  values: { "endpoint-url"?: string; region?: string },
  io: CliIo,
): Promise<number> {
  // The AWS clients load only for a deployed execution; a local run's lineage needs none.
  const [{ readExecutionProvenance, workflowOfExecution }, { awsContextFor, reportDeployError }] =
    await Promise.all([import("@ferry/infra/cloud"), import("../support/cloud-commands.ts")]);
  const context = awsContextFor(values, io.env);
  try {
    const workflow = await workflowOfExecution(context, executionArn);
    if (!workflow) {
      io.stderr(
        `ferry provenance: cannot tell which workflow ${executionArn} belongs to (no state index stored by ferry deploy, and not a Ferry root machine)\n`,
      );
      return 1;
    }
    const records = await readExecutionProvenance(context, executionArn, { workflow });
    if (records.length === 0) {
      io.stdout(
        `execution ${executionArn} has no provenance records yet (workers write one per finished attempt)\n`,
      );
      return 0;
    }
    printLineage(records, format, `${workflow} execution ${executionArn.split(":").at(-1)}`, io);
    return 0;
  } catch (error) {
    return reportDeployError("provenance", error, io);
  }
}

async function fileLineage(
  projectDir: string,
  wanted: string,
  json: boolean,
  out: (text: string) => void,
): Promise<number> {
  const isSha = /^[0-9a-f]{8,64}$/.test(wanted);
  const matches = (f: { key: string; name: string; sha256: string }) =>
    f.key === wanted || f.name === wanted || (isSha && f.sha256.startsWith(wanted));
  const found: Array<{
    run: string;
    step: string;
    attempt: number;
    role: "produced" | "used";
    key: string;
    sha256: string;
    producedBy?: string;
  }> = [];
  for (const run of await listRuns(projectDir)) {
    for (const r of await readRunProvenance(join(runsRoot(projectDir), run.runId))) {
      for (const f of r.outputFiles.filter(matches)) {
        const made = producedBy(r);
        found.push({
          run: r.execution,
          step: r.step,
          attempt: r.attempt,
          role: "produced",
          key: f.key,
          sha256: f.sha256,
          producedBy: made.execution,
        });
      }
      for (const f of r.inputFiles.filter(matches))
        found.push({
          run: r.execution,
          step: r.step,
          attempt: r.attempt,
          role: "used",
          key: f.key,
          sha256: f.sha256,
        });
    }
  }
  if (json) {
    out(`${JSON.stringify(found)}\n`);
    return found.length > 0 ? 0 : 1;
  }
  if (found.length === 0) {
    out(`no run produced or used a job file matching "${wanted}" (list runs with: npx ferry runs)\n`);
    return 1;
  }
  for (const f of found) {
    const how =
      f.role === "produced"
        ? f.producedBy !== f.run
          ? `produced (from the cache; made by run ${f.producedBy})`
          : "produced"
        : "used";
    out(`${f.run}  ${f.step}#${f.attempt}  ${how}  ${f.key}  sha256 ${f.sha256.slice(0, 16)}\n`);
  }
  return 0;
}
