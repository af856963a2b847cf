/**
 * A problem found in a spec. Diagnostics are data (zod's model): the compiler
 * returns them, it never throws on user input. Formatting is separate.
 */
export interface Diagnostic {
  /** Stable SCREAMING_SNAKE code, e.g. `UNKNOWN_DEPENDENCY`. */
  code: DiagnosticCode;
  severity: "error" | "warning";
  /** Spec path, e.g. `["steps", 3, "depends", 0]`. Empty for the whole document. */
  path: ReadonlyArray<string | number>;
  message: string;
  /** A way out, e.g. `did you mean "transform"?`. */
  hint?: string;
  /** 1-based position in the spec text; filled by the parser's locator. */
  line?: number;
  col?: number;
}

export type DiagnosticCode =
  | "YAML_SYNTAX"
  | "NOT_AN_OBJECT"
  | "UNKNOWN_FIELD"
  | "MISSING_FIELD"
  | "INVALID_TYPE"
  | "INVALID_VALUE"
  | "INVALID_NAME"
  | "OUT_OF_RANGE"
  | "EMPTY_WORKFLOW"
  | "DUPLICATE_STEP"
  | "UNKNOWN_DEPENDENCY"
  | "SELF_DEPENDENCY"
  | "DUPLICATE_DEPENDENCY"
  | "CYCLE"
  | "UNKNOWN_SITE"
  | "NO_RUNTIME"
  | "MULTIPLE_RUNTIMES"
  | "MISSING_LABEL"
  | "INVALID_FOREACH"
  | "INVALID_HEARTBEAT"
  | "UNCACHEABLE_STEP"
  | "UNSUPPORTED_PLACEMENT"
  | "FUNCTION_NOT_FOUND"
  | "UNSUPPORTED_VERSION"
  | "NEEDS_VERSION"
  | "UNKNOWN_HANDLER"
  | "UNUSED_HANDLER"
  | "INVALID_INPUT_SCHEMA"
  | "INVALID_INPUT"
  | "MULTIPLE_REGIONS"
  | "AWS_NAME_COLLISION"
  | "UNKNOWN_JOB_FILE"
  | "AMBIGUOUS_JOB_FILE"
  | "TOO_DEEP"
  | "UNSAFE_PATH"
  | "HOST_ACCESS_NOT_ALLOWED"
  | "INVALID_TRIGGER"
  | "INVALID_SCHEDULE"
  | "DUPLICATE_TRIGGER"
  | "INVALID_SECRET_REF"
  | "UNSUPPORTED_SECRET"
  /** A compile option (not the spec) is out of range. */
  | "INVALID_OPTION";

/** Renders a spec path the way users write it: `steps[3].depends[0]`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out || "(root)";
}

/** `file:line:col: error[CODE] path: message` and an indented hint line. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = `${file}:${d.line ?? 1}:${d.col ?? 1}`;
  const head = `${where}: ${d.severity}[${d.code}] ${formatPath(d.path)}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
