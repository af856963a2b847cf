import type { WorkflowIr } from "@ferry/dsl-compiler";
import { median, type StepSpan } from "./dispatch-gap.ts";

/**
 * Per-step time a runtime spends around a step's own work, inside the span
 * the run record gives it. On one machine (`ferry run`) every step start
 * (spawning the process, staging its input) goes through one event loop, so
 * starts that come together wait for each other: each start holds the loop
 * for `serialSeconds`, and each step also pays `fixedSeconds` (reading its
 * output, answering Step Functions). The wait emerges from the load, so one
 * fit predicts other concurrencies.
 */
export interface StartOverhead {
  serialSeconds: number;
  fixedSeconds: number;
  /** Steps the fit is taken from. */
  samples: number;
  /** Mean absolute deviation of the residuals around the fit, in seconds. */
  spreadSeconds: number;
}

const GRID_STEP_SECONDS = 0.0005;
const GRID_MAX_SECONDS = 0.08;
/**
 * Fits whose residual spread is within this factor of the best one explain
 * the record equally well; the middle one of them is kept: see
 * {@link fitStartOverhead}.
 */
const EQUALLY_GOOD = 1.05;
/** Spread below which fits differ only by rounding, in seconds. */
const SPREAD_FLOOR_SECONDS = 0.0001;

/**
 * Fits the overhead from steps whose own work is known (`hints.durationSeconds`,
 * e.g. the sleep steps of an imported trace): span − hint against the
 * overhead the serialized-start model gives when replayed on the record's own
 * start times. Returns undefined when fewer than 3 steps have both.
 *
 * Residuals are taken around their median and scored by their mean
 * absolute deviation: on a loaded machine a stall of the one event loop
 * stretches the spans of the steps running through it by up to a second,
 * and squared residuals let those few steps choose the fit.
 *
 * The split between serialized and fixed time shows only where starts
 * collided. In a run at low concurrency they rarely do, so a range of splits
 * fits about as well, and the best of them is picked by noise. Either end of
 * that range is wrong somewhere: all fixed (2.5 ms serialized + 11 ms from a
 * 4-slot record of 100 ~0.2 s steps) does not grow with load and
 * under-predicted 16 slots by 11%; all serialized (up to 60 ms per start on
 * a loaded machine) made the loop the bottleneck at 8 slots and
 * over-predicted by 15–50%. The middle of the range is kept: the record
 * cannot tell its splits apart, and the middle is nearest to every one.
 */
export function fitStartOverhead(
  ir: WorkflowIr,
  spans: ReadonlyMap<string, StepSpan>,
): StartOverhead | undefined {
  const known: Array<{ name: string; extra: number }> = [];
  for (const step of ir.steps) {
    const span = spans.get(step.name);
    const hint = step.hints.durationSeconds;
    if (!span || typeof hint !== "number" || !Number.isFinite(hint) || step.foreach) continue;
    known.push({ name: step.name, extra: (span.endMs - span.startMs) / 1000 - hint });
  }
  if (known.length < 3) return undefined;
  const fits: Array<StartOverhead & { unexplained: number }> = [];
  for (let serial = 0; serial <= GRID_MAX_SECONDS + 1e-9; serial += GRID_STEP_SECONDS) {
    const waits = replayStarts(spans, serial);
    const residuals = known.map((k) => k.extra - waits.get(k.name)!);
    const unexplained = median(residuals);
    const fixed = Math.max(0, unexplained);
    fits.push({
      serialSeconds: serial,
      fixedSeconds: fixed,
      samples: known.length,
      spreadSeconds: residuals.reduce((s, r) => s + Math.abs(r - fixed), 0) / residuals.length,
      unexplained,
    });
  }
  const best = fits.reduce((a, b) => (b.spreadSeconds < a.spreadSeconds ? b : a));
  // A serialized part larger than the overhead itself would need a negative fixed part: not an explanation.
  const equallyGood = fits.filter(
    (f) =>
      f.unexplained >= -SPREAD_FLOOR_SECONDS &&
      f.spreadSeconds <= best.spreadSeconds * EQUALLY_GOOD + SPREAD_FLOOR_SECONDS,
  );
  const chosen = equallyGood[equallyGood.length >> 1] ?? best;
  const { unexplained: _, ...fit } = chosen;
  return fit;
}

/**
 * Replays the serialized starts on recorded start times: step name → seconds
 * from its start until its own work began (waiting for the loop, then
 * `serialSeconds` of its own start). Sites have their own loop.
 */
export function replayStarts(
  spans: ReadonlyMap<string, StepSpan>,
  serialSeconds: number,
): Map<string, number> {
  const bySite = new Map<string, Array<[string, StepSpan]>>();
  for (const entry of spans) bySite.set(entry[1].site, [...(bySite.get(entry[1].site) ?? []), entry]);
  const waits = new Map<string, number>();
  for (const list of bySite.values()) {
    list.sort((a, b) => a[1].startMs - b[1].startMs);
    let free = Number.NEGATIVE_INFINITY;
    for (const [name, span] of list) {
      const start = span.startMs / 1000;
      const begin = Math.max(start, free) + serialSeconds;
      free = begin;
      waits.set(name, begin - start);
    }
  }
  return waits;
}
