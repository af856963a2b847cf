import { parseSpecText, schemaIssuesToDiagnostics, type WorkflowIr } from "@ferry/dsl-compiler";
import { z } from "zod";
import { locateDiagnostics, type SimDiagnostic, simWarning } from "../diagnostics.ts";
import type { Calibration } from "./step-costs.ts";

/**
 * The part of a `ferry run` record (`.ferry/runs/<id>/run.json`) that
 * calibration reads. Other fields are allowed and ignored, so the record can
 * grow without breaking the simulator.
 */
const AttemptSchema = z.looseObject({
  status: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const RunRecordStepSchema = z.looseObject({
  name: z.string().min(1),
  site: z.string().optional(),
  status: z.string(),
  /** A count, or one entry per attempt. */
  attempts: z.union([z.number().int().min(0), z.array(AttemptSchema)]).optional(),
  /** ISO 8601. */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const RunRecordSchema = z.looseObject({
  /** The execution's own start and end (ISO 8601), when the record has them. */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  steps: z.array(RunRecordStepSchema),
});

export type RunRecord = z.output<typeof RunRecordSchema>;

/** Calibration taken from a run, plus what the run as a whole measured. */
export interface RunCalibration extends Calibration {
  /** The execution's duration: its own timestamps, else the steps' first `startedAt` to last `finishedAt`. */
  measuredMakespanSeconds?: number;
  /**
   * Median gap between a step's start and its last dependency's finish: the
   * dispatch latency of the runtime that made the record.
   */
  dispatchGapSeconds?: number;
  /** Steps whose timing was used. */
  stepsMeasured: number;
}

/** Parses a run record's text; diagnostics carry line and col. Never throws on user input. */
export function parseRunRecord(text: string): { record?: RunRecord; diagnostics: SimDiagnostic[] } {
  const parsed = parseSpecText(text);
  if (!parsed.spec) return { diagnostics: parsed.diagnostics.map((d) => ({ ...d, source: "run-record" })) };
  const result = RunRecordSchema.safeParse(parsed.spec.value, { reportInput: false });
  if (!result.success) {
    const issues = schemaIssuesToDiagnostics(result.error.issues, RunRecordSchema, parsed.spec.value).map(
      (d): SimDiagnostic => ({ ...d, source: "run-record" }),
    );
    return { diagnostics: locateDiagnostics(issues, "run-record", parsed.spec.locate) };
  }
  return { record: result.data, diagnostics: [] };
}

const SUCCEEDED = /^(succeeded|success|ok|completed)$/i;

/**
 * Turns a run record into per-step durations for the workflow `ir`. Steps
 * that did not succeed, or lack timestamps, keep their hints (with a warning).
 */
export function calibrationFromRunRecord(
  record: RunRecord,
  ir: WorkflowIr,
): { calibration: RunCalibration; diagnostics: SimDiagnostic[] } {
  const diagnostics: SimDiagnostic[] = [];
  const known = new Set(ir.steps.map((s) => s.name));
  const durationsSeconds = new Map<string, number>();
  const started = new Map<string, number>();
  const finished = new Map<string, number>();
  record.steps.forEach((step, i) => {
    const path = ["steps", i];
    if (!known.has(step.name)) {
      diagnostics.push(
        simWarning(
          "run-record",
          "UNKNOWN_RUN_STEP",
          [...path, "name"],
          `the workflow has no step "${step.name}"; ignoring it`,
          "calibrate with a run of the same workflow",
        ),
      );
      return;
    }
    const start = parseTime(step.startedAt);
    const end = parseTime(step.finishedAt);
    if (start !== undefined) started.set(step.name, start);
    if (end !== undefined) finished.set(step.name, end);
    if (!SUCCEEDED.test(step.status) || start === undefined || end === undefined || end < start) {
      diagnostics.push(
        simWarning(
          "run-record",
          "INCOMPLETE_RUN_STEP",
          path,
          `step "${step.name}" has status "${step.status}" or no valid startedAt/finishedAt; keeping its hints`,
        ),
      );
      return;
    }
    durationsSeconds.set(step.name, attemptSeconds(step, start, end));
  });
  const starts = [...started.values()];
  const ends = [...finished.values()];
  const calibration: RunCalibration = { durationsSeconds, stepsMeasured: durationsSeconds.size };
  const runStart = parseTime(record.startedAt);
  const runEnd = parseTime(record.finishedAt);
  if (runStart !== undefined && runEnd !== undefined && runEnd >= runStart)
    calibration.measuredMakespanSeconds = (runEnd - runStart) / 1000;
  else if (starts.length > 0 && ends.length > 0)
    calibration.measuredMakespanSeconds = (Math.max(...ends) - Math.min(...starts)) / 1000;
  const gaps = ir.steps.flatMap((s) => {
    const start = started.get(s.name);
    const depsEnd = s.depends.map((d) => finished.get(d));
    if (start === undefined || depsEnd.length === 0 || depsEnd.some((e) => e === undefined)) return [];
    return [(start - Math.max(...(depsEnd as number[]))) / 1000];
  });
  if (gaps.length > 0) calibration.dispatchGapSeconds = Math.max(0, median(gaps));
  return { calibration, diagnostics };
}

/** Seconds of the successful attempt: its own timestamps when the record lists attempts, else an even share. */
function attemptSeconds(step: RunRecord["steps"][number], start: number, end: number): number {
  const attempts = step.attempts;
  if (Array.isArray(attempts)) {
    const last = [...attempts].reverse().find((a) => a.status === undefined || SUCCEEDED.test(a.status));
    const s = parseTime(last?.startedAt);
    const e = parseTime(last?.finishedAt);
    if (s !== undefined && e !== undefined && e >= s) return (e - s) / 1000;
    return (end - start) / 1000 / Math.max(1, attempts.length);
  }
  // Without per-attempt times the retry waits are folded in; an even share is the best estimate.
  return (end - start) / 1000 / Math.max(1, attempts ?? 1);
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
