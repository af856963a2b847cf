import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import { isAgentError } from "@ferry/edge-agent";
import { stopLocalRun } from "@ferry/edge-agent/local-run";
import { stopExecution } from "@ferry/infra/cloud";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, awsContextFor, reportDeployError } from "../support/cloud-commands.ts";
import { loadRun } from "./run.ts";

const USAGE = `Usage: ferry stop <execution-arn> [options]
       ferry stop <RUN_ID|last>

With a local run's id (ferry runs lists them), cancels that running
\`ferry run\` as Ctrl-C would and prints its final status, CANCELLED.

Stops a running execution of a deployed workflow (StopExecution) and prints
its final status, ABORTED. Steps already handed to agents or functions are
not killed; their answers are refused. Exits 1 for an unknown execution or
one that already ended.

Options:
  --error ERROR   recorded as the execution's error (up to 256 characters)
  --cause CAUSE   recorded as its cause
${AWS_FLAGS_USAGE}

Example:
  ferry stop arn:aws:states:us-east-1:000000000000:execution:hello-root:3f2a… --cause "wrong input"`;

/** `ferry stop`: StopExecution of a running execution. */
export const stopCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS, error: { type: "string" }, cause: { type: "string" } },
    });
    const target = positionals[0];
    if (positionals.length === 1 && (target === "last" || /^\d{8}-\d{6}-[0-9a-f]{6}$/.test(target!)))
      return stopLocal(target!, io);
    if (positionals.length !== 1 || !target!.startsWith("arn:")) {
      throw new UsageError(
        "name one execution ARN (ferry start prints it) or one local run id (ferry runs lists them)",
      );
    }
    if (values.error !== undefined && values.error.length > 256) {
      throw new UsageError(`--error may hold up to 256 characters, got ${values.error.length}`);
    }
    const executionArn = positionals[0]!;
    const context = awsContextFor(values, io.env);
    try {
      const description = await stopExecution(context, executionArn, {
        ...(values.error === undefined ? {} : { error: values.error }),
        ...(values.cause === undefined ? {} : { cause: values.cause }),
        signal: io.signal,
      });
      const status = description.status ?? "UNKNOWN";
      io.stdout(`${status}\n`);
      if (status === "ABORTED") return 0;
      io.stderr(
        `ferry stop: execution ${executionArn} ended ${status}${description.error ? ` (${description.error})` : ""}, not ABORTED: it ended on its own before the stop took effect; ferry status ${executionArn} shows its steps\n`,
      );
      return 1;
    } catch (error) {
      return reportDeployError("stop", error, io);
    }
  },
};

async function stopLocal(id: string, io: CliIo): Promise<number> {
  const projectDir = findProjectRoot(io.cwd);
  const runId = id === "last" ? (await loadRun(projectDir, "last")).record.runId : id;
  try {
    const record = await stopLocalRun(projectDir, runId, { signal: io.signal });
    io.stdout(`${record.status}\n`);
    return record.status === "CANCELLED" ? 0 : 1;
  } catch (error) {
    if (!isAgentError(error, "RUN_NOT_RUNNING")) throw error;
    io.stderr(`ferry stop: ${error.message}\n`);
    return 1;
  }
}
