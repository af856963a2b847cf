import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import type { SideStepSpec as SideStep, WorkflowSpec } from "../schema/spec.ts";

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

/** Every step the spec defines (DAG steps, failure handlers, finally steps) with its spec path. */
export function everyStep(spec: WorkflowSpec): Array<{
  step: WorkflowSpec["steps"][number] | SideStep;
  path: ["steps" | "handlers" | "finally", number];
}> {
  return [
    ...spec.steps.map((step, i) => ({ step, path: ["steps", i] as ["steps", number] })),
    ...(spec.handlers ?? []).map((step, i) => ({ step, path: ["handlers", i] as ["handlers", number] })),
    ...(spec.finally ?? []).map((step, i) => ({ step, path: ["finally", i] as ["finally", number] })),
  ];
}
