import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatInputDiagnostic, validateWorkflowInput } from "@ferry/dsl-compiler";
import {
  executionStatus,
  readStateMachineArn,
  stackNameFor,
  startExecution,
  waitForExecution,
} from "@ferry/infra";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, reportDeployError, workflowTarget } from "../support/cloud-commands.ts";
import { failedSteps, formatDuration, formatStatus } from "../support/format-status.ts";

const USAGE = `Usage: ferry start <spec.yaml|workflow> [options]

Starts an execution of a deployed workflow (its stack ferry-<workflow>) and
prints the execution ARN. With --wait, follows it to the end: prints the
workflow's output and exits 0 if it succeeded; prints the failing step's
error and cause and exits 1 otherwise.

Options:
  --input JSON | @FILE    execution input (default {})
  --name NAME             execution name (default: generated)
  --wait                  follow the execution until it ends
  --timeout-seconds N     with --wait: give up after N s (default 3600; the execution keeps running)
  --quiet                 with --wait: print only the output, or the error
${AWS_FLAGS_USAGE}

Example:
  ferry start examples/hello/workflow.yaml --input '{"n": 3}' --wait --endpoint-url http://127.0.0.1:4566`;

/** `ferry start`: StartExecution, optionally followed to the end. */
export const startCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...AWS_FLAGS,
        input: { type: "string" },
        name: { type: "string" },
        wait: { type: "boolean" },
        quiet: { type: "boolean" },
        "timeout-seconds": { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file or deployed workflow");
    const input = readInput(values.input, io.cwd);
    const timeoutSeconds = values["timeout-seconds"] === undefined ? 3600 : Number(values["timeout-seconds"]);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new UsageError(`--timeout-seconds must be a positive number, got "${values["timeout-seconds"]}"`);
    }
    const target = await workflowTarget(positionals[0]!, values, io);
    if (!target) return 1;
    const { workflow, context, ir } = target;
    if (ir) {
      const problems = validateWorkflowInput(ir, JSON.parse(input));
      for (const d of problems) io.stderr(`${formatInputDiagnostic("--input", d)}\n`);
      if (problems.length > 0) return 1;
    }
    try {
      const stateMachineArn = await readStateMachineArn(stackNameFor(workflow), context);
      const executionArn = await startExecution(context, stateMachineArn, input, values.name);
      io.stdout(`${executionArn}\n`);
      if (!values.wait) return 0;
      const description = await waitForExecution(context, executionArn, {
        timeoutMs: timeoutSeconds * 1000,
        signal: io.signal,
      });
      return await report(
        io,
        context,
        executionArn,
        description.status ?? "UNKNOWN",
        description.output,
        values.quiet,
      );
    } catch (error) {
      return reportDeployError("start", error, io);
    }
  },
};

async function report(
  io: CliIo,
  context: Parameters<typeof executionStatus>[0],
  executionArn: string,
  finalStatus: string,
  output: string | undefined,
  quiet: boolean | undefined,
): Promise<number> {
  const status = await executionStatus(context, executionArn);
  const took =
    status.description.startDate && status.description.stopDate
      ? formatDuration(status.description.stopDate.getTime() - status.description.startDate.getTime())
      : undefined;
  if (finalStatus === "SUCCEEDED") {
    if (!quiet) io.stderr(`${formatStatus(status)}\n\n${finalStatus}${took ? ` in ${took}` : ""}\n`);
    io.stdout(`${output ?? "null"}\n`);
    return 0;
  }
  if (!quiet) io.stderr(`${formatStatus(status)}\n\n`);
  const failed = failedSteps(status);
  for (const step of failed) {
    io.stdout(
      `step ${step.step} ${step.state} after ${step.attempts} attempt(s): ${step.error ?? "?"}: ${step.cause ?? ""}\n`,
    );
  }
  if (failed.length === 0 || status.report.error) {
    io.stdout(
      `${finalStatus}${status.report.error ? `: ${status.report.error}: ${status.report.cause ?? ""}` : ""}\n`,
    );
  } else {
    io.stdout(`${finalStatus}\n`);
  }
  return 1;
}

function readInput(value: string | undefined, cwd: string): string {
  const text =
    value === undefined
      ? "{}"
      : value.startsWith("@")
        ? readFileSync(resolve(cwd, value.slice(1)), "utf8")
        : value;
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--input must be JSON (or @file holding JSON): ${(error as Error).message}`);
  }
  return text;
}
