import {
  type AwsContext,
  DeployError,
  executionResult,
  executionStatus,
  failedSteps,
  waitForExecution,
} from "@ferry/infra/cloud";
import { type CliIo, UsageError } from "../command.ts";
import { reportDeployError } from "./cloud-commands.ts";
import { formatDuration, formatStatus } from "./format-status.ts";

/** The flags of every command that can follow an execution to its end (`start`, `redrive`). */
export const WAIT_FLAGS = {
  wait: { type: "boolean" },
  "timeout-seconds": { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const WAIT_FLAGS_USAGE = `  --wait                  follow the execution until it ends
  --timeout-seconds N     with --wait: give up after N s (default 3600; the execution keeps running)
  --quiet                 with --wait: print only the output, or the error
  --json                  with --wait: print one JSON object (the execution result, v1) on stdout
                          and nothing else there; the step table still goes to stderr unless --quiet`;

export interface WaitSettings {
  wait: boolean;
  timeoutMs: number;
  quiet: boolean;
  json: boolean;
}

/** Reads and checks the wait flags; throws `UsageError` for a bad one. */
export function waitSettings(values: {
  wait?: boolean;
  "timeout-seconds"?: string;
  quiet?: boolean;
  json?: boolean;
}): WaitSettings {
  const timeoutSeconds = values["timeout-seconds"] === undefined ? 3600 : Number(values["timeout-seconds"]);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout-seconds must be a positive number, got "${values["timeout-seconds"]}"`);
  }
  if (values.json && !values.wait)
    throw new UsageError("--json needs --wait (it prints the result at the end)");
  return {
    wait: Boolean(values.wait),
    timeoutMs: timeoutSeconds * 1000,
    quiet: Boolean(values.quiet),
    json: Boolean(values.json),
  };
}

/**
 * Follows an execution to its end and reports it: the step table on stderr
 * (unless quiet), then on stdout the output (exit 0 if it succeeded) or each
 * failed step's error and cause (exit 1); with `json`, one `ExecutionResult`
 * on stdout instead, the exit code the same. `command` names the command in
 * error messages.
 */
export async function followExecution(
  command: string,
  io: CliIo,
  context: AwsContext,
  executionArn: string,
  settings: WaitSettings,
  options: { minRedriveCount?: number } = {},
): Promise<number> {
  try {
    await waitForExecution(context, executionArn, {
      timeoutMs: settings.timeoutMs,
      signal: io.signal,
      ...(options.minRedriveCount ? { minRedriveCount: options.minRedriveCount } : {}),
    });
  } catch (error) {
    if (!(settings.json && error instanceof DeployError && error.code === "TIMED_OUT")) throw error;
    // The submission API promises one JSON object once an execution exists: the still-running one here.
    io.stdout(`${JSON.stringify(executionResult(await executionStatus(context, executionArn)))}\n`);
    return reportDeployError(command, error, io);
  }
  return report(io, context, executionArn, settings);
}

async function report(
  io: CliIo,
  context: AwsContext,
  executionArn: string,
  { quiet, json }: WaitSettings,
): Promise<number> {
  const status = await executionStatus(context, executionArn);
  const { description } = status;
  const finalStatus = description.status ?? "UNKNOWN";
  const succeeded = finalStatus === "SUCCEEDED";
  const took =
    description.startDate && description.stopDate
      ? formatDuration(description.stopDate.getTime() - description.startDate.getTime())
      : undefined;
  if (!quiet) {
    io.stderr(
      `${formatStatus(status)}\n\n${succeeded ? `${finalStatus}${took ? ` in ${took}` : ""}\n` : ""}`,
    );
  }
  if (json) {
    io.stdout(`${JSON.stringify(executionResult(status))}\n`);
    return succeeded ? 0 : 1;
  }
  if (succeeded) {
    io.stdout(`${description.output ?? "null"}\n`);
    return 0;
  }
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
