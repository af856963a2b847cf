import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import type { WorkflowSpec } from "../schema/spec.ts";

/** One lint rule: reads a schema-valid spec, returns diagnostics, never throws. */
export type CheckRule = (spec: WorkflowSpec) => Diagnostic[];

export function error(
  code: Diagnostic["code"],
  path: Diagnostic["path"],
  message: string,
  hint?: string,
): Diagnostic {
  return hint === undefined
    ? { code, severity: "error", path, message }
    : { code, severity: "error", path, message, hint };
}
