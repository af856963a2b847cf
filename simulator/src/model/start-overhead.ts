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
 * Fits the overhead from steps whose own work is known (`hints.durationSeconds`,
 * e.g. the sleep steps of an imported trace): span − hint against the
 * overhead the serialized-start model gives when replayed on the record's own
 * start times. Returns undefined when fewer than 3 steps have both.
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
  let best: StartOverhead | undefined;
  let bestError = Number.POSITIVE_INFINITY;
  for (let serial = 0; serial <= GRID_MAX_SECONDS + 1e-9; serial += GRID_STEP_SECONDS) {
    const waits = replayStarts(spans, serial);
    const residuals = known.map((k) => k.extra - waits.get(k.name)!);
    const fixed = Math.max(0, residuals.reduce((a, b) => a + b, 0) / residuals.length);
    const error = residuals.reduce((s, r) => s + (r - fixed) ** 2, 0);
    if (error < bestError) {
      bestError = error;
      best = {
        serialSeconds: serial,
        fixedSeconds: fixed,
        samples: known.length,
        spreadSeconds: Math.sqrt(error / known.length),
      };
    }
  }
  return best;
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
