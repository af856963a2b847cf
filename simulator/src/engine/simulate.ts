import { estimateCriticalPath } from "../report/critical-path.ts";
import type {
  BoundaryReport,
  SimulationReport,
  Spread,
  TransferReport,
} from "../report/simulation-report.ts";
import { runSeed } from "./prng.ts";
import { simulateRun } from "./run.ts";
import type { CostBreakdown, FailureReason, RunResult } from "./run-result.ts";
import type { SimModel } from "./sim-model.ts";

export interface SimulateOptions {
  /** @default 100 */
  runs?: number;
  /** @default 1 */
  seed?: number;
  /** Re-run the median run with tracing, for the Gantt chart. @default false */
  trace?: boolean;
  /** Shown in the report. */
  topologyName?: string;
}

export const DEFAULT_RUNS = 100;
export const DEFAULT_SEED = 1;

/** Simulates `runs` executions (run i seeded from `seed` and i) and aggregates them. */
export function simulate(model: SimModel, options: SimulateOptions = {}): SimulationReport {
  const runs = options.runs ?? DEFAULT_RUNS;
  const seed = options.seed ?? DEFAULT_SEED;
  const results = Array.from({ length: runs }, (_, i) => simulateRun(model, runSeed(seed, i)));
  const report = summarize(model, results, seed, options.topologyName);
  if (options.trace && runs > 0)
    report.trace = simulateRun(model, runSeed(seed, report.medianRun), { trace: true }).trace!;
  return report;
}

/** Aggregates run results into a report. */
export function summarize(
  model: SimModel,
  results: readonly RunResult[],
  seed: number,
  topologyName?: string,
): SimulationReport {
  const n = Math.max(1, results.length);
  const ok = results.filter((r) => r.status === "succeeded");
  const makespans = ok.map((r) => r.makespanSeconds).sort((a, b) => a - b);
  const spread = makespans.length ? spreadOf(makespans) : null;
  const mean = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0) / n;

  const sites = model.sites.map((site, s) => ({
    name: site.name,
    type: site.type,
    slots: site.type === "edge" ? site.slotCapacity : null,
    busySeconds: mean((r) => r.siteBusySeconds[s]!),
    utilisation:
      site.type === "edge" && site.slotCapacity > 0
        ? mean((r) =>
            r.makespanSeconds > 0 ? r.siteBusySeconds[s]! / (site.slotCapacity * r.makespanSeconds) : 0,
          )
        : null,
    peakConcurrency: Math.max(0, ...results.map((r) => r.sitePeakConcurrency[s]!)),
  }));
  const transfers: TransferReport[] = model.links
    .map((link, l) => ({
      from: model.sites[link.from]!.name,
      to: model.sites[link.to]!.name,
      bytes: mean((r) => r.linkBytes[l]!),
      costUsd: mean((r) => (r.linkBytes[l]! / 1024 ** 3) * link.pricePerGB),
    }))
    .filter((t) => t.bytes > 0);
  const boundaries: BoundaryReport[] = model.sites
    .map((site) => ({
      site: site.name,
      bytesOut: transfers.filter((t) => t.from === site.name).reduce((s, t) => s + t.bytes, 0),
      bytesIn: transfers.filter((t) => t.to === site.name).reduce((s, t) => s + t.bytes, 0),
    }))
    .filter((b) => b.bytesOut > 0 || b.bytesIn > 0);

  const keys: Array<keyof CostBreakdown> = [
    "stepFunctions",
    "sqs",
    "lambda",
    "fargate",
    "transfer",
    "edge",
    "total",
  ];
  const cost = Object.fromEntries(keys.map((k) => [k, mean((r) => r.cost[k])])) as unknown as CostBreakdown;
  const totals = results.map((r) => r.cost.total).sort((a, b) => a - b);

  const failures = new Map<string, { step: string; reason: FailureReason; runs: number }>();
  for (const r of results) {
    if (!r.failedStep) continue;
    const key = `${r.failedStep}\u0000${r.failedReason}`;
    const entry = failures.get(key) ?? { step: r.failedStep, reason: r.failedReason!, runs: 0 };
    entry.runs++;
    failures.set(key, entry);
  }
  const blockedRuns = results.filter((r) => r.blocked);
  const report: SimulationReport = {
    workflow: model.workflow,
    ...(topologyName !== undefined ? { topology: topologyName } : {}),
    runs: results.length,
    seed,
    outcomes: {
      succeeded: ok.length,
      failed: results.filter((r) => r.status === "failed").length,
      blocked: blockedRuns.length,
    },
    makespanSeconds: spread,
    criticalPath: estimateCriticalPath(model),
    sites,
    transfers,
    boundaries,
    cost: { ...cost, p95Total: totals.length ? percentile(totals, 0.95) : 0 },
    retries: mean((r) => r.retries),
    lambdaColdStarts: mean((r) => r.lambdaColdStarts),
    fargateLaunches: mean((r) => r.fargateLaunches),
    failures: [...failures.values()].sort((a, b) => b.runs - a.runs || a.step.localeCompare(b.step)),
    medianRun: medianRunIndex(results, spread?.p50),
  };
  if (blockedRuns.length > 0) {
    const unique = <T>(items: T[], key: (t: T) => string) => [
      ...new Map(items.map((i) => [key(i), i])).values(),
    ];
    report.blocked = {
      runs: blockedRuns.length,
      waitingSteps: unique(
        blockedRuns.flatMap((r) => r.blocked!.waitingSteps),
        (s) => s,
      ),
      deadLinks: unique(
        blockedRuns.flatMap((r) => r.blocked!.deadLinks),
        (l) => `${l.from}>${l.to}`,
      ),
      unreachableSites: unique(
        blockedRuns.flatMap((r) => r.blocked!.unreachableSites),
        (s) => s,
      ),
    };
  }
  return report;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function spreadOf(sorted: number[]): Spread {
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

function medianRunIndex(results: readonly RunResult[], p50: number | undefined): number {
  if (p50 === undefined) return 0;
  let best = 0;
  let bestGap = Number.POSITIVE_INFINITY;
  results.forEach((r, i) => {
    const gap = r.status === "succeeded" ? Math.abs(r.makespanSeconds - p50) : Number.POSITIVE_INFINITY;
    if (gap < bestGap) {
      best = i;
      bestGap = gap;
    }
  });
  return best;
}
