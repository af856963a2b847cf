import { type IrStep, parseSpecText, schemaIssuesToDiagnostics, type WorkflowIr } from "@ferry/dsl-compiler";
import { z } from "zod";
import { locateDiagnostics, type SimDiagnostic, simWarning } from "../diagnostics.ts";
import { measureDispatchGaps, type StepSpan } from "./dispatch-gap.ts";
import { fitStartOverhead, replayStarts, type StartOverhead } from "./start-overhead.ts";
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
  /**
   * A count (`ferry run` writes attempts started, over all items of a
   * `foreach` step), or one entry per attempt.
   */
  attempts: z.union([z.number().int().min(0), z.array(AttemptSchema)]).optional(),
  /** ISO 8601: the first attempt's start and the last one's end. */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** A resumed run took the step's output from an earlier run instead of running it. */
  reused: z.boolean().optional(),
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
   * Median gap between a step's start and its last dependency's finish (the
   * run's start for a first step), over steps that did not wait for a slot:
   * the dispatch latency of the runtime that made the record.
   * @see measureDispatchGaps
   */
  dispatchGapSeconds?: number;
  /** Mean of the same gaps; a long chain of steps adds up this much per step. */
  dispatchGapMeanSeconds?: number;
  /** 95th percentile of the same gaps. */
  dispatchGapP95Seconds?: number;
  /** Steps the gaps are taken from. */
  dispatchGapSamples?: number;
  /**
   * Per-step overhead inside the recorded spans, fitted against the steps
   * running at once; the durations above have it taken out, and the
   * simulation adds it back at the load it simulates.
   * @see fitStartOverhead
   */
  startOverhead?: StartOverhead;
  /** Most steps the record shows running at once on any site: beyond it a prediction extrapolates. */
  peakRunning?: number;
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
  const steps = new Map(ir.steps.map((s) => [s.name, s]));
  const durationsSeconds = new Map<string, number>();
  const spans = new Map<string, StepSpan>();
  const started: number[] = [];
  const finished: number[] = [];
  record.steps.forEach((step, i) => {
    const path = ["steps", i];
    const irStep = steps.get(step.name);
    if (!irStep) {
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
    if (step.reused) {
      diagnostics.push(
        simWarning(
          "run-record",
          "REUSED_RUN_STEP",
          path,
          `step "${step.name}" was reused from an earlier run, not run; keeping its hints`,
          "calibrate with a run that was not resumed",
        ),
      );
      return;
    }
    if (start !== undefined) started.push(start);
    if (end !== undefined) finished.push(end);
    if (start !== undefined && end !== undefined && end >= start)
      spans.set(step.name, { site: step.site ?? irStep.site, startMs: start, endMs: end });
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
    durationsSeconds.set(step.name, attemptSeconds(step, irStep, start, end));
  });
  const calibration: RunCalibration = { durationsSeconds, stepsMeasured: durationsSeconds.size };
  const runStart = parseTime(record.startedAt);
  const runEnd = parseTime(record.finishedAt);
  if (runStart !== undefined && runEnd !== undefined && runEnd >= runStart)
    calibration.measuredMakespanSeconds = (runEnd - runStart) / 1000;
  else if (started.length > 0 && finished.length > 0)
    calibration.measuredMakespanSeconds =
      (finished.reduce((a, b) => Math.max(a, b)) - started.reduce((a, b) => Math.min(a, b))) / 1000;
  const overhead = fitStartOverhead(ir, spans);
  if (overhead) {
    calibration.startOverhead = overhead;
    const waits = replayStarts(spans, overhead.serialSeconds);
    for (const [name, seconds] of durationsSeconds) {
      const wait = waits.get(name);
      if (wait === undefined || steps.get(name)!.foreach) continue;
      durationsSeconds.set(name, Math.max(0, seconds - wait - overhead.fixedSeconds));
    }
  }
  calibration.peakRunning = Math.max(0, ...[...spans.values()].map((s) => runningAt(spans, s)));
  const gaps = measureDispatchGaps(ir, spans, runStart);
  if (gaps) {
    calibration.dispatchGapSeconds = gaps.medianSeconds;
    calibration.dispatchGapMeanSeconds = gaps.meanSeconds;
    calibration.dispatchGapP95Seconds = gaps.p95Seconds;
    calibration.dispatchGapSamples = gaps.samples;
  }
  return { calibration, diagnostics };
}

/**
 * Seconds of one successful attempt (of one item, for a `foreach` step):
 * its own timestamps when the record lists attempts; else the step's span
 * less the retry policy's waits, shared evenly among its attempts.
 */
function attemptSeconds(
  step: RunRecord["steps"][number],
  irStep: IrStep,
  start: number,
  end: number,
): number {
  const spanSeconds = (end - start) / 1000;
  const attempts = step.attempts;
  if (Array.isArray(attempts)) {
    const last = [...attempts].reverse().find((a) => a.status === undefined || SUCCEEDED.test(a.status));
    const s = parseTime(last?.startedAt);
    const e = parseTime(last?.finishedAt);
    if (s !== undefined && e !== undefined && e >= s) return (e - s) / 1000;
    return spanSeconds / Math.max(1, attempts.length);
  }
  const count = Math.max(1, attempts ?? 1);
  if (irStep.foreach) {
    // The count covers every item, and items overlap up to maxConcurrency: the span holds that many waves.
    const width = irStep.foreach.maxConcurrency > 0 ? Math.min(count, irStep.foreach.maxConcurrency) : count;
    return spanSeconds / Math.ceil(count / width);
  }
  return Math.max(0, spanSeconds - retryWaitSeconds(irStep, count)) / count;
}

/** What the step's retry policy waits before attempts 2…`attempts` (half the interval under full jitter, on average). */
function retryWaitSeconds(step: IrStep, attempts: number): number {
  const { intervalSeconds, backoffRate, maxDelaySeconds, jitter } = step.retry;
  let total = 0;
  for (let k = 1; k < attempts; k++)
    total += Math.min(intervalSeconds * backoffRate ** (k - 1), maxDelaySeconds ?? Number.POSITIVE_INFINITY);
  return jitter === "FULL" ? total / 2 : total;
}

/** Steps on the span's site running when it started, itself included. */
function runningAt(spans: ReadonlyMap<string, StepSpan>, span: StepSpan): number {
  let n = 0;
  for (const o of spans.values())
    if (o.site === span.site && o.startMs <= span.startMs && o.endMs > span.startMs) n++;
  return n;
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
