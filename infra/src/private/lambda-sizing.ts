import type { IrStep } from "@ferry/dsl-compiler";
import { Token } from "aws-cdk-lib";

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

/** Lambda's limit on a function's environment variables, all of them together. */
export const LAMBDA_ENV_MAX_BYTES = 4096;
/** An unresolved value here is a resource name (the job bucket's): counted at S3's longest, 63 characters. */
const UNRESOLVED_VALUE_BYTES = 63;

/**
 * The size Lambda counts for an environment, as the JSON of its variables,
 * with unresolved tokens at their longest: over the limit, CloudFormation
 * fails the deploy halfway, so synthesis refuses it first.
 */
export function lambdaEnvironmentBytes(env: Record<string, string>): number {
  let bytes = 2; // the braces
  for (const [name, value] of Object.entries(env)) {
    const valueBytes = Token.isUnresolved(value)
      ? UNRESOLVED_VALUE_BYTES
      : Buffer.byteLength(JSON.stringify(value));
    bytes += Buffer.byteLength(JSON.stringify(name)) + 1 + valueBytes + 1;
  }
  return bytes - (Object.keys(env).length > 0 ? 1 : 0);
}
