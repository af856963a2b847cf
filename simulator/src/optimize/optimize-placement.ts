import { Prng, runSeed } from "../engine/prng.ts";
import { simulateRun } from "../engine/run.ts";
import { buildSimModel, type Placement } from "../engine/sim-model.ts";
import type { PreparedSimulation } from "../prepare.ts";
import { estimateCriticalPath, expectedStepSeconds } from "../report/critical-path.ts";
import { type StepFreedom, stepFreedoms } from "./placement-constraints.ts";

export type Objective = "makespan" | "cost";

export interface OptimizeOptions {
  /** @default "makespan" */
  objective?: Objective;
  /** Runs per evaluated placement; one when nothing in the model is random. @default 10 */
  runsPerEvaluation?: number;
  /** @default 1 */
  seed?: number;
  /** Placements simulated at most. @default 300 */
  maxEvaluations?: number;
}

export interface PlacementScore {
  /** Step → site for every step. */
  placement: Record<string, string>;
  /** p50 over the runs, a failed or blocked run counting as infinite. */
  makespanSeconds: number;
  /** Mean USD per run. */
  costUsd: number;
  /** Fraction of runs that succeeded. */
  successRate: number;
}

export interface OptimizationResult {
  objective: Objective;
  current: PlacementScore;
  best: PlacementScore;
  /** Steps the best placement moves off their spec site. */
  moves: Array<{ step: string; from: string; to: string }>;
  /** (current − best) / current of the objective; 0 when nothing better was found. */
  improvement: number;
  evaluations: number;
  movableSteps: number;
  pinnedSteps: number;
}

/**
 * Searches placements for the lowest makespan or cost. First whole-site
 * moves (every movable step to one site), then a local search that moves one
 * step at a time, critical-path steps first, keeping a move only when it
 * improves the objective; ties break on the other objective. Every
 * placement is simulated with the same seeds, so comparisons are fair and
 * the search is deterministic for a seed.
 */
export function optimizePlacement(
  prepared: PreparedSimulation,
  options: OptimizeOptions = {},
): OptimizationResult {
  const objective = options.objective ?? "makespan";
  const seed = options.seed ?? 1;
  const budget = options.maxEvaluations ?? 300;
  const { ir, topology, costs } = prepared;
  const freedoms = stepFreedoms(prepared.spec, ir, topology, costs);
  const movable = freedoms.filter((f) => f.allowed.length > 1);
  let evaluations = 0;

  const evaluate = (placement: Record<string, string>): PlacementScore => {
    evaluations++;
    const model = buildSimModel(ir, topology, costs, placement);
    const runs = model.stochastic ? Math.max(1, options.runsPerEvaluation ?? 10) : 1;
    const makespans: number[] = [];
    let cost = 0;
    let ok = 0;
    for (let i = 0; i < runs; i++) {
      const r = simulateRun(model, runSeed(seed, i));
      makespans.push(r.status === "succeeded" ? r.makespanSeconds : Number.POSITIVE_INFINITY);
      cost += r.cost.total;
      if (r.status === "succeeded") ok++;
    }
    makespans.sort((a, b) => a - b);
    return {
      placement,
      makespanSeconds: makespans[Math.ceil(runs / 2) - 1]!,
      costUsd: cost / runs,
      successRate: ok / runs,
    };
  };
  const key = (s: PlacementScore): [number, number] => {
    // A placement that fails in most runs is no answer, whatever it costs.
    if (s.successRate < 0.5) return [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    return objective === "makespan" ? [s.makespanSeconds, s.costUsd] : [s.costUsd, s.makespanSeconds];
  };
  // Relative tolerance; infinite scores (failing placements) compare exactly.
  const tolerance = (x: number) => (Number.isFinite(x) ? 1e-9 * Math.abs(x) : 0);
  const better = (a: PlacementScore, b: PlacementScore) => {
    const [a1, a2] = key(a);
    const [b1, b2] = key(b);
    if (a1 < b1 - tolerance(b1)) return true;
    const tied = a1 === b1 || Math.abs(a1 - b1) <= tolerance(b1);
    return tied && a2 < b2 - tolerance(b2);
  };

  const initial = Object.fromEntries(freedoms.map((f) => [f.step, f.current]));
  const current = evaluate(initial);
  let best = current;

  const sites = [...new Set(movable.flatMap((f) => f.allowed))];
  for (const site of sites) {
    if (evaluations >= budget) break;
    const placement = { ...best.placement };
    for (const f of movable) if (f.allowed.includes(site)) placement[f.step] = site;
    const score = evaluate(placement);
    if (better(score, best)) best = score;
  }

  const rng = new Prng(seed);
  for (let improved = true; improved && evaluations < budget; ) {
    improved = false;
    for (const f of searchOrder(prepared, movable, best.placement, rng)) {
      if (evaluations >= budget) break;
      let stepBest = best;
      for (const site of f.allowed) {
        if (site === best.placement[f.step] || evaluations >= budget) continue;
        const score = evaluate({ ...best.placement, [f.step]: site });
        if (better(score, stepBest)) stepBest = score;
      }
      if (stepBest !== best) {
        best = stepBest;
        improved = true;
      }
    }
  }

  const [c] = key(current);
  const [b] = key(best);
  return {
    objective,
    current,
    best,
    moves: freedoms
      .filter((f) => best.placement[f.step] !== f.current)
      .map((f) => ({ step: f.step, from: f.current, to: best.placement[f.step]! })),
    improvement:
      Number.isFinite(c) && c > 0 ? (c - b) / c : Number.isFinite(b) && !Number.isFinite(c) ? 1 : 0,
    evaluations,
    movableSteps: movable.length,
    pinnedSteps: freedoms.length - movable.length,
  };
}

/** Critical-path steps first, then the rest by expected time, longest first; ties in a seeded random order. */
function searchOrder(
  prepared: PreparedSimulation,
  movable: StepFreedom[],
  placement: Placement,
  rng: Prng,
): StepFreedom[] {
  const model = buildSimModel(prepared.ir, prepared.topology, prepared.costs, placement);
  const onPath = new Set(estimateCriticalPath(model).steps);
  const index = new Map(model.steps.map((s) => [s.name, s]));
  const keyed = movable.map((f) => {
    const step = index.get(f.step)!;
    const seconds = expectedStepSeconds(model, step);
    return {
      f,
      path: onPath.has(f.step) ? 0 : 1,
      seconds: Number.isFinite(seconds) ? seconds : Number.MAX_VALUE,
      tie: rng.next(),
    };
  });
  keyed.sort((a, b) => a.path - b.path || b.seconds - a.seconds || a.tie - b.tie);
  return keyed.map((k) => k.f);
}
