import { FERRY_ERRORS } from "@ferry/dsl-compiler/contract";

/** Stable codes of the errors this package raises. */
export type FunctionErrorCode =
  | "NON_RETRIABLE"
  | "INVALID_OUTPUT"
  | "INVALID_HANDLER"
  | "STEP_TIMEOUT"
  | "INVALID_CONFIG"
  | "JOB_FILES_FAILED";

/**
 * Base error of `@ferry/functions`. `taskError` is the error name Step
 * Functions sees in `SendTaskFailure`, which the compiled Retry and Catch
 * fields match on; `toTaskFailure` from `@ferry/dsl-compiler` reads it.
 */
export class FunctionError extends Error {
  override readonly name: string = "FunctionError";
  readonly code: FunctionErrorCode;
  readonly taskError: string;

  constructor(code: FunctionErrorCode, taskError: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.taskError = taskError;
  }
}

/**
 * Throw from a step handler to fail the step without retries: the compiled
 * Retry policy never retries `Ferry.NonRetriable`.
 *
 * @example
 * if (!input.input.customerId) throw new NonRetriableError("input.customerId is required");
 */
export class NonRetriableError extends FunctionError {
  override readonly name = "NonRetriableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("NON_RETRIABLE", FERRY_ERRORS.nonRetriable, message, options);
  }
}

/** The handler returned something Step Functions cannot take as a step output. */
export class InvalidOutputError extends FunctionError {
  override readonly name = "InvalidOutputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_OUTPUT", FERRY_ERRORS.invalidOutput, message, options);
  }
}

/** The step's handler export is missing or not a function: another attempt cannot fix that. */
export class InvalidHandlerError extends FunctionError {
  override readonly name = "InvalidHandlerError";
  constructor(message: string) {
    super("INVALID_HANDLER", FERRY_ERRORS.nonRetriable, message);
  }
}

/** The step ran out of time before its handler settled (e.g. the Lambda function's own timeout). */
export class StepTimeoutError extends FunctionError {
  override readonly name = "StepTimeoutError";
  constructor(message: string) {
    super("STEP_TIMEOUT", FERRY_ERRORS.timeout, message);
  }
}

/** A job file could not be staged, uploaded or read (missing object, S3 refused, unsafe name). */
export class JobFilesError extends FunctionError {
  override readonly name = "JobFilesError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("JOB_FILES_FAILED", FERRY_ERRORS.runtime, message, options);
  }
}

/** Message of anything thrown, for logs and causes. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
