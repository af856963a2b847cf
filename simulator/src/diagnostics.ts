import { type Diagnostic, type DiagnosticCode, formatDiagnostic } from "@ferry/dsl-compiler";

/** Codes the simulator adds to the compiler's; same SCREAMING_SNAKE style, same stability promise. */
export type SimulatorDiagnosticCode =
  | "MISSING_TOPOLOGY_SITE"
  | "SITE_TYPE_MISMATCH"
  | "UNKNOWN_LINK_SITE"
  | "DUPLICATE_LINK"
  | "DEAD_LINK"
  | "STEP_DOES_NOT_FIT"
  | "LAMBDA_TIMEOUT"
  | "MISSING_DURATION"
  | "INVALID_HINT"
  | "UNKNOWN_RUN_STEP"
  | "INCOMPLETE_RUN_STEP"
  | "REUSED_RUN_STEP"
  | "UNSUPPORTED_FORMAT"
  | "UNKNOWN_PARENT"
  | "MISSING_RUNTIME"
  | "EXTRAPOLATED_SLOTS"
  | "UNCALIBRATED_STEPS";

/** Which input a diagnostic points into; the CLI maps it to the file name the user passed. */
export type DiagnosticSource = "spec" | "topology" | "run-record" | "instance";

/** A compiler diagnostic that also says which input file its `path`, `line` and `col` refer to. */
export interface SimDiagnostic extends Omit<Diagnostic, "code"> {
  code: DiagnosticCode | SimulatorDiagnosticCode;
  source: DiagnosticSource;
}

/** `file:line:col: severity[CODE] path: message`, exactly like the compiler's diagnostics. */
export function formatSimDiagnostic(file: string, d: SimDiagnostic): string {
  // formatDiagnostic reads the code only as text, so the wider code union is safe to pass through.
  return formatDiagnostic(file, { ...d, code: d.code as DiagnosticCode });
}

export function simError(
  source: DiagnosticSource,
  code: SimDiagnostic["code"],
  path: SimDiagnostic["path"],
  message: string,
  hint?: string,
): SimDiagnostic {
  return hint === undefined
    ? { source, code, severity: "error", path, message }
    : { source, code, severity: "error", path, message, hint };
}

export function simWarning(
  source: DiagnosticSource,
  code: SimDiagnostic["code"],
  path: SimDiagnostic["path"],
  message: string,
  hint?: string,
): SimDiagnostic {
  return { ...simError(source, code, path, message, hint), severity: "warning" };
}

/** Fills `line`/`col` of the diagnostics that belong to `source` using that file's locator. */
export function locateDiagnostics(
  diagnostics: readonly SimDiagnostic[],
  source: DiagnosticSource,
  locate: (
    path: ReadonlyArray<string | number>,
    options?: { key?: boolean },
  ) => { line: number; col: number },
): SimDiagnostic[] {
  return diagnostics.map((d) => {
    if (d.source !== source || d.line !== undefined) return d;
    const pos = locate(d.path, { key: d.code === "UNKNOWN_FIELD" });
    return { ...d, line: pos.line, col: pos.col };
  });
}

export function hasSimErrors(diagnostics: readonly SimDiagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
