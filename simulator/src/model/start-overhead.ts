import type { WorkflowIr } from "@ferry/dsl-compiler";
import type { StepSpan } from "./dispatch-gap.ts";

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
  /** Standard deviation of the residuals around the fit, in seconds. */
  spreadSeconds: number;
}

const GRID_STEP_SECONDS = 0.0005;
const GRID_MAX_SECONDS = 0.08;
/**
 * Fits whose residual spread is within this factor of the best one explain
 * the record equally well. Among them the fit with the largest serialized
 * part is kept: see {@link fitStartOverhead}.
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
 * The split between serialized and fixed time shows only where starts
 * collided. In a run at low concurrency they rarely do, so every split from
 * "all fixed" to "all serialized" fits about as well, and least squares picks
 * one by noise: from 4 slots it took 2.5 ms serialized + 11 ms fixed, which
 * then does not grow with load and under-predicts 16 slots by 11%. The
 * embedded runtime does every step's bookkeeping on one event loop, so when
 * the record cannot tell, the overhead is taken as serialized; a fixed part
 * is kept only when the record shows it (the serialized-only fits are then
 * clearly worse).
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
    const unexplained = residuals.reduce((a, b) => a + b, 0) / residuals.length;
    const fixed = Math.max(0, unexplained);
    const error = residuals.reduce((s, r) => s + (r - fixed) ** 2, 0);
    fits.push({
      serialSeconds: serial,
      fixedSeconds: fixed,
      samples: known.length,
      spreadSeconds: Math.sqrt(error / known.length),
      unexplained,
    });
  }
  const best = fits.reduce((a, b) => (b.spreadSeconds < a.spreadSeconds ? b : a));
  // A serialized part larger than the overhead itself would need a negative fixed part: not an explanation.
  const chosen =
    fits
      .filter(
        (f) =>
          f.unexplained >= -SPREAD_FLOOR_SECONDS &&
          f.spreadSeconds <= best.spreadSeconds * EQUALLY_GOOD + SPREAD_FLOOR_SECONDS,
      )
      .at(-1) ?? best;
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
