import type { IrStep, WorkflowIr } from "@ferry/dsl-compiler";
import { type SimDiagnostic, simWarning } from "../diagnostics.ts";

/** What one step costs to run, on the reference machine (speed 1). */
export interface StepCost {
  /** Seconds one attempt of one item computes at speed 1. */
  durationSeconds: number;
  /** Bytes the step's dependents read from it. */
  outputBytes: number;
  /** vCPUs the step uses; sizes Fargate workers. */
  cpu: number;
  /** Items of a `foreach` step; each is one task. */
  foreachItems: number;
  /** Where `durationSeconds` came from. */
  source: "calibration" | "hints" | "default";
}

/** Measured per-step durations, e.g. from a `ferry run` record. */
export interface Calibration {
  /** Seconds of one successful attempt, by step name. */
  durationsSeconds: ReadonlyMap<string, number>;
}

/**
 * @default 1 — a step with neither hint nor measurement is assumed to take one second;
 * the simulator warns so the figure is not mistaken for a prediction.
 */
export const DEFAULT_DURATION_SECONDS = 1;

/**
 * Resolves every step's cost, in order of preference: calibration, then
 * `hints` (`durationSeconds`, `outputBytes`, `cpu`, `foreachItems`), then
 * defaults. Returned costs align with `ir.steps`.
 */
export function resolveStepCosts(
  ir: WorkflowIr,
  calibration?: Calibration,
): { costs: StepCost[]; diagnostics: SimDiagnostic[] } {
  const diagnostics: SimDiagnostic[] = [];
  const missing: IrStep[] = [];
  const costs = ir.steps.map((step): StepCost => {
    const hint = (key: string, min: number) => numericHint(step, key, min, diagnostics);
    const measured = calibration?.durationsSeconds.get(step.name);
    const hinted = hint("durationSeconds", 0);
    if (measured === undefined && hinted === undefined) missing.push(step);
    return {
      durationSeconds: measured ?? hinted ?? DEFAULT_DURATION_SECONDS,
      outputBytes: hint("outputBytes", 0) ?? 0,
      cpu: hint("cpu", 0.001) ?? step.resources.cpu,
      foreachItems: step.foreach ? Math.max(1, Math.round(hint("foreachItems", 1) ?? 1)) : 1,
      source: measured !== undefined ? "calibration" : hinted !== undefined ? "hints" : "default",
    };
  });
  if (missing.length > 0) {
    const names =
      missing
        .slice(0, 3)
        .map((s) => `"${s.name}"`)
        .join(", ") + (missing.length > 3 ? ` and ${missing.length - 3} more` : "");
    diagnostics.push(
      simWarning(
        "spec",
        "MISSING_DURATION",
        ["steps", missing[0]!.specIndex],
        `${missing.length} step(s) have no duration (${names}); assuming ${DEFAULT_DURATION_SECONDS} s each`,
        "add hints.durationSeconds, or calibrate with --calibrate .ferry/runs/<id>",
      ),
    );
  }
  return { costs, diagnostics };
}

function numericHint(
  step: IrStep,
  key: string,
  min: number,
  diagnostics: SimDiagnostic[],
): number | undefined {
  const value = step.hints[key];
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value) && value >= min) return value;
  diagnostics.push(
    simWarning(
      "spec",
      "INVALID_HINT",
      ["steps", step.specIndex, "hints", key],
      `hints.${key} must be a number ≥ ${min}, got ${JSON.stringify(value)}; ignoring it`,
    ),
  );
  return undefined;
}
