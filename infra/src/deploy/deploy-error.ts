/**
 * Stable codes of the errors `ferry deploy`, `destroy`, `start`, `stop`,
 * `redrive`, `status` and `functions serve` raise.
 */
export type DeployErrorCode =
  | "UNSUPPORTED_ON_LOCALSTACK"
  | "STACK_FAILED"
  | "STACK_NOT_FOUND"
  | "STACK_BUSY"
  | "TIMED_OUT"
  | "ASSET_UPLOAD_FAILED"
  | "OUTPUT_MISSING"
  | "MANIFEST_SIGNING_FAILED"
  | "EXECUTION_NOT_FOUND"
  | "EXECUTION_ENDED"
  | "NOT_REDRIVABLE"
  | "API_NOT_IMPLEMENTED"
  | "NAME_TAKEN"
  | "START_OPTIONS_UNSUPPORTED";

/**
 * An error of Ferry's deployment commands. The message says what failed,
 * the value received and the fix; `details` carries the failing
 * CloudFormation events or history entries when there are any.
 */
export class DeployError extends Error {
  override readonly name = "DeployError";
  readonly code: DeployErrorCode;
  readonly details: string[];

  constructor(code: DeployErrorCode, message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }
}
