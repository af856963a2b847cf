import type { IConstruct } from "constructs";

/** Stable codes of the errors `@ferry/infra` raises. */
export type InfraErrorCode =
  | "MISSING_SLOT"
  | "UNKNOWN_SLOT"
  | "HANDLER_NOT_FOUND"
  | "BUNDLING_FAILED"
  | "INVALID_PROP"
  | "TOO_MANY_RESOURCES"
  | "INVALID_SPEC";

/**
 * Base error of `@ferry/infra`. The message starts with the construct path,
 * then says what is wrong, the value received and the fix, e.g.
 * `ferry-hello/Workflow/Functions/summarize: function handler file not found: …; …`.
 */
export class InfraError extends Error {
  override readonly name = "InfraError";
  readonly code: InfraErrorCode;
  /** Path of the construct the problem belongs to. */
  readonly constructPath: string;

  constructor(
    code: InfraErrorCode,
    scope: IConstruct | string,
    message: string,
    options?: { cause?: unknown },
  ) {
    const path = typeof scope === "string" ? scope : scope.node.path;
    super(`${path}: ${message}`, options);
    this.code = code;
    this.constructPath = path;
  }
}
