import { FERRY_ERRORS, isRetriable } from "@ferry/dsl-compiler/contract";

/**
 * Stable codes of {@link AgentError}. Codes never change meaning; new ones
 * may be added.
 */
export type AgentErrorCode =
  | "CONFIG_INVALID"
  | "MANIFEST_INVALID"
  | "MANIFEST_REFUSED"
  | "BAD_MESSAGE"
  | "UNKNOWN_STEP"
  | "EXIT_CODE"
  | "TIMEOUT"
  | "INVALID_OUTPUT"
  | "STEP_ERROR"
  | "RUNTIME_FAILED"
  | "RUNTIME_UNAVAILABLE"
  | "IMAGE_NOT_FOUND"
  | "IMAGE_DIGEST_MISMATCH"
  | "HTTP_FAILED"
  | "JOB_FILES_FAILED"
  | "TASK_GONE"
  | "AGENT_SHUTDOWN"
  | "COMPLETION_FAILED"
  | "QUEUE_FAILED"
  /** `ferry stop <run-id>` named a local run that is not running (finished, unknown, or its process is gone). */
  | "RUN_NOT_RUNNING";

/** The Step Functions error name each code reports when it fails a task. */
const TASK_ERRORS: Record<AgentErrorCode, string> = {
  CONFIG_INVALID: FERRY_ERRORS.nonRetriable,
  MANIFEST_INVALID: FERRY_ERRORS.nonRetriable,
  MANIFEST_REFUSED: FERRY_ERRORS.nonRetriable,
  BAD_MESSAGE: FERRY_ERRORS.nonRetriable,
  UNKNOWN_STEP: FERRY_ERRORS.nonRetriable,
  EXIT_CODE: FERRY_ERRORS.exitCode,
  TIMEOUT: FERRY_ERRORS.timeout,
  INVALID_OUTPUT: FERRY_ERRORS.invalidOutput,
  STEP_ERROR: FERRY_ERRORS.stepFailed,
  RUNTIME_FAILED: FERRY_ERRORS.runtime,
  RUNTIME_UNAVAILABLE: FERRY_ERRORS.runtime,
  IMAGE_NOT_FOUND: FERRY_ERRORS.nonRetriable,
  IMAGE_DIGEST_MISMATCH: FERRY_ERRORS.nonRetriable,
  HTTP_FAILED: FERRY_ERRORS.http,
  JOB_FILES_FAILED: FERRY_ERRORS.runtime,
  TASK_GONE: FERRY_ERRORS.runtime,
  AGENT_SHUTDOWN: FERRY_ERRORS.agentShutdown,
  COMPLETION_FAILED: FERRY_ERRORS.runtime,
  QUEUE_FAILED: FERRY_ERRORS.runtime,
  RUN_NOT_RUNNING: FERRY_ERRORS.nonRetriable,
};

export interface AgentErrorOptions {
  cause?: unknown;
  /** Overrides the Step Functions error name (e.g. a user's own error class). */
  taskError?: string;
  /** Context fields for logs: step, execution, image, field… */
  context?: Record<string, unknown>;
}

/**
 * The one base error of the edge agent. `code` is stable; `taskError` is the
 * name `toTaskFailure` reports to Step Functions; `retryable` says whether
 * the compiled Retry policy gives it another attempt (the contract's error table).
 */
export class AgentError extends Error {
  override readonly name = "AgentError";
  readonly code: AgentErrorCode;
  readonly taskError: string;
  readonly context: Record<string, unknown>;

  constructor(code: AgentErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.taskError = options.taskError ?? TASK_ERRORS[code];
    this.context = options.context ?? {};
  }

  get retryable(): boolean {
    return isRetriable(this.taskError);
  }
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.code === code);
}

/** Message of anything thrown, for logs and causes. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
