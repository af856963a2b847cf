import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatInputDiagnostic, validateWorkflowInput } from "@ferry/dsl-compiler";
import { startExecutionInput } from "@ferry/dsl-compiler/contract";
import { readStateMachineArn, stackNameFor, startExecution } from "@ferry/infra/cloud";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, reportDeployError, workflowTarget } from "../support/cloud-commands.ts";
import { followExecution, WAIT_FLAGS, WAIT_FLAGS_USAGE, waitSettings } from "../support/follow-execution.ts";

const USAGE = `Usage: ferry start <spec.yaml|workflow> [options]

Starts an execution of a deployed workflow (its stack ferry-<workflow>) and
prints the execution ARN. With --wait, follows it to the end: prints the
workflow's output and exits 0 if it succeeded; prints the failing step's
error and cause and exits 1 otherwise. With --wait --json, stdout holds one
JSON object instead (see the README: the execution result, v1).

Options:
  --input JSON | @FILE    execution input (default {})
  --name NAME             execution name (default: generated)
  --no-cache              answer no step from the step cache: every cache: step
                          runs (and writes its entry), as with ferry run --no-cache
${WAIT_FLAGS_USAGE}
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
        ...WAIT_FLAGS,
        input: { type: "string" },
        name: { type: "string" },
        "no-cache": { type: "boolean" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file or deployed workflow");
    const input = readInput(values.input, io.cwd);
    const settings = waitSettings(values);
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
      // The state machine unwraps the options: steps see the input as given.
      const executionInput = values["no-cache"]
        ? JSON.stringify(startExecutionInput(JSON.parse(input), { noCache: true }))
        : input;
      const executionArn = await startExecution(
        context,
        stateMachineArn,
        executionInput,
        values.name,
        Boolean(values["no-cache"]),
      );
      if (!settings.json) io.stdout(`${executionArn}\n`);
      else if (!settings.quiet) io.stderr(`started ${executionArn}\n`);
      if (!settings.wait) return 0;
      return await followExecution("start", io, context, executionArn, settings);
    } catch (error) {
      return reportDeployError("start", error, io);
    }
  },
};

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
