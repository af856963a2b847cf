import type { WorkflowIr } from "@ferry/dsl-compiler";

/** When one step of a recorded run ran, in ms since the epoch. */
export interface StepSpan {
  site: string;
  startMs: number;
  endMs: number;
}

/** Dispatch gaps of a recorded run, in seconds. */
export interface DispatchGaps {
  /** Median gap. */
  medianSeconds: number;
  /** Mean gap: what a chain of dispatches adds up to. */
  meanSeconds: number;
  /** 95th percentile of the gaps: their spread. */
  p95Seconds: number;
  /** Steps the figures are taken from. */
  samples: number;
}

/**
 * Measures how long a step took to start once it could: from its last
 * dependency's finish (or the run's start, for a first step) to its own start.
 *
 * Only steps that never waited for a slot count. A step queued behind others
 * starts when a slot frees, so its gap measures the queue, which the
 * simulation models by itself; counting it would charge the queue twice. The
 * record does not say how many slots a site had, so the most steps seen
 * running there at once stands in: a step counts when fewer than that ran
 * on its site at every moment between its ready time and its start.
 *
 * @param spans step name → when it ran; steps without a span are left out.
 * @param runStartMs the run's own start; without it first steps give no gap.
 */
export function measureDispatchGaps(
  ir: WorkflowIr,
  spans: ReadonlyMap<string, StepSpan>,
  runStartMs?: number,
): DispatchGaps | undefined {
  const bySite = new Map<string, StepSpan[]>();
  for (const span of spans.values()) {
    const list = bySite.get(span.site);
    if (list) list.push(span);
    else bySite.set(span.site, [span]);
  }
  const timelines = new Map([...bySite].map(([site, list]) => [site, new Timeline(list)]));
  const gaps: number[] = [];
  for (const step of ir.steps) {
    const span = spans.get(step.name);
    if (!span) continue;
    const depsEnd = step.depends.map((d) => spans.get(d)?.endMs);
    if (depsEnd.some((e) => e === undefined)) continue;
    const readyMs = depsEnd.length > 0 ? Math.max(...(depsEnd as number[])) : runStartMs;
    if (readyMs === undefined || span.startMs < readyMs) continue;
    const timeline = timelines.get(span.site)!;
    if (timeline.maxRunning(readyMs, span.startMs) < timeline.peak)
      gaps.push((span.startMs - readyMs) / 1000);
  }
  if (gaps.length === 0) return undefined;
  return {
    medianSeconds: median(gaps),
    meanSeconds: gaps.reduce((a, b) => a + b, 0) / gaps.length,
    p95Seconds: quantile(gaps, 0.95),
    samples: gaps.length,
  };
}

/** Steps running on one site over time: a step counts from its start (inclusive) to its end (exclusive). */
class Timeline {
  private readonly times: number[];
  private readonly running: number[];
  readonly peak: number;

  constructor(spans: readonly StepSpan[]) {
    const deltas = new Map<number, number>();
    for (const s of spans) {
      if (s.endMs <= s.startMs) continue;
      deltas.set(s.startMs, (deltas.get(s.startMs) ?? 0) + 1);
      deltas.set(s.endMs, (deltas.get(s.endMs) ?? 0) - 1);
    }
    this.times = [...deltas.keys()].sort((a, b) => a - b);
    let n = 0;
    this.running = this.times.map((t) => (n += deltas.get(t)!));
    this.peak = this.running.reduce((a, b) => Math.max(a, b), 0);
  }

  /** The most steps running at once at any moment of `[fromMs, toMs)`, or at `fromMs` when they are equal. */
  maxRunning(fromMs: number, toMs: number): number {
    let i = upperBound(this.times, fromMs) - 1;
    let most = i >= 0 ? this.running[i]! : 0;
    for (i++; i < this.times.length && this.times[i]! < toMs; i++) most = Math.max(most, this.running[i]!);
    return most;
  }
}

/** Index of the first element greater than `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nearest-rank quantile. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
