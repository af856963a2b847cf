import type { IrStep } from "@ferry/dsl-compiler";

/** Lambda's hard limit on a function's timeout. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Leaves the adapter room to report `Ferry.Timeout` before Lambda stops the function. */
const LAMBDA_MIN_TIMEOUT_SECONDS = 10;

/**
 * The function timeout for a Lambda step: the step's timeout, capped at
 * Lambda's 900 s. A longer step still fails cleanly: the adapter reports
 * `Ferry.Timeout` shortly before Lambda stops it.
 */
export function lambdaTimeoutSeconds(step: IrStep): number {
  return Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.max(LAMBDA_MIN_TIMEOUT_SECONDS, step.timeoutSeconds));
}

/** Memory for a Lambda step: `function.memoryMiB`, else `resources.memoryMiB`, within Lambda's 128–10,240 MiB. */
export function lambdaMemoryMiB(step: IrStep): number {
  const asked =
    step.runtime.kind === "function" && step.runtime.memoryMiB !== undefined
      ? step.runtime.memoryMiB
      : step.resources.memoryMiB;
  return Math.min(10_240, Math.max(128, Math.round(asked)));
}
