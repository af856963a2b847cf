import type { DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import type { StepReport } from "./execution-report.ts";
import type { ExecutionStatus } from "./executions.ts";

/** The version of `ExecutionResult`; a change that breaks a reader bumps it. */
export const EXECUTION_RESULT_VERSION = 1;

/** A step that failed (or timed out) in an execution or one of its child executions. */
export interface FailedStep {
  step: string;
  state: "failed" | "timed out";
  /** Of the last failed attempt. */
  error: string | null;
  cause: string | null;
  /** Attempts made, retries included. */
  attempts: number;
}

/**
 * The machine-readable end of an execution: what `ferry start --wait --json`
 * and `ferry redrive --wait --json` print, one JSON object. Dates are ISO
 * 8601; absent values are `null`, never missing.
 */
export interface ExecutionResult {
  v: typeof EXECUTION_RESULT_VERSION;
  executionArn: string;
  stateMachineArn: string | null;
  /** The execution's name (the last part of its ARN). */
  name: string | null;
  /** `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`; `RUNNING` or `PENDING_REDRIVE` when the wait gave up first. */
  status: string;
  /** The workflow's output, parsed; `null` unless it succeeded (a non-JSON output stays a string). */
  output: unknown;
  /** The execution's own error and cause when it did not succeed. */
  error: string | null;
  cause: string | null;
  failedSteps: FailedStep[];
  startDate: string | null;
  stopDate: string | null;
  /** How often the execution was redriven (0 for one never redriven). */
  redriveCount: number;
}

/** The failed steps of an execution, its child executions' included. */
export function failedSteps(status: ExecutionStatus): StepReport[] {
  return [
    ...status.report.steps.filter((s) => s.state === "failed" || s.state === "timed out"),
    ...status.children.flatMap(failedSteps),
  ];
}

/** Builds the `ExecutionResult` of an execution from its status. Pure: no I/O. */
export function executionResult(status: ExecutionStatus): ExecutionResult {
  const d: DescribeExecutionCommandOutput = status.description;
  return {
    v: EXECUTION_RESULT_VERSION,
    executionArn: status.executionArn,
    stateMachineArn: d.stateMachineArn ?? null,
    name: d.name ?? null,
    status: d.status ?? "UNKNOWN",
    output: parseOutput(d.output),
    error: d.error ?? status.report.error ?? null,
    cause: d.cause ?? status.report.cause ?? null,
    failedSteps: failedSteps(status).map((s) => ({
      step: s.step,
      state: s.state as FailedStep["state"],
      error: s.error ?? null,
      cause: s.cause ?? null,
      attempts: s.attempts,
    })),
    startDate: d.startDate?.toISOString() ?? null,
    stopDate: d.stopDate?.toISOString() ?? null,
    redriveCount: d.redriveCount ?? 0,
  };
}

function parseOutput(output: string | undefined): unknown {
  if (output === undefined) return null;
  try {
    return JSON.parse(output);
  } catch (error) {
    if (error instanceof SyntaxError) return output;
    throw error;
  }
}
