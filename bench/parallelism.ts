// Parallelism check: the compiled state machine's makespan under unlimited
// parallelism versus the DAG's critical path, on the WfCommons instances and
// on random DAGs; a level-by-level compiler is shown for comparison.
// Run: npx tsx bench/parallelism.ts
import { aslMakespan, compileSpec, criticalPath } from "@ferry/dsl-compiler";
import { randomDag, seededRandom, specForDag } from "@ferry/dsl-compiler/testing";
import { compileWfCommonsInstances } from "../test/support/wfcommons.ts";

function levelByLevel(deps: number[][], duration: (v: number) => number): number {
  const level: number[] = [];
  const widest = new Map<number, number>();
  deps.forEach((ds, v) => {
    level[v] = ds.length === 0 ? 0 : Math.max(...ds.map((d) => level[d]!)) + 1;
    widest.set(level[v]!, Math.max(widest.get(level[v]!) ?? 0, duration(v)));
  });
  return [...widest.values()].reduce((a, b) => a + b, 0);
}

console.log(
  "instance                                        tasks  critical path  compiled   loss   level-by-level   loss",
);
for (const w of compileWfCommonsInstances()) {
  const index = new Map(w.compiled.ir.steps.map((s, i) => [s.name, i]));
  const deps = w.compiled.ir.steps.map((s) => s.depends.map((d) => index.get(d)!));
  const duration = (v: number) => w.durations.get(w.compiled.ir.steps[v]!.name)!;
  const cp = criticalPath(deps, duration).length;
  const { makespan } = aslMakespan(w.compiled, (step) => w.durations.get(step)!);
  const levels = levelByLevel(deps, duration);
  const pct = (x: number) => `${(((x - cp) / cp) * 100).toFixed(1)}%`;
  console.log(
    `${w.name.padEnd(46)} ${String(deps.length).padStart(6)} ${cp.toFixed(1).padStart(14)} ${makespan.toFixed(1).padStart(9)} ${pct(makespan).padStart(6)} ${levels.toFixed(1).padStart(16)} ${pct(levels).padStart(6)}`,
  );
}

const random = seededRandom(2026);
let worst = 0;
let trials = 0;
for (; trials < 500; trials++) {
  const deps = randomDag(10 + Math.floor(random() * 190), random, {
    maxDeps: 1 + Math.floor(random() * 4),
    window: 2 + Math.floor(random() * 20),
  });
  const durations = deps.map(() => 1 + random() * 100);
  const { compiled } = compileSpec(specForDag(deps));
  const { makespan } = aslMakespan(compiled!, (s) => durations[Number(s.slice(1))]!);
  const cp = criticalPath(deps, (v) => durations[v]!).length;
  worst = Math.max(worst, Math.abs(makespan - cp) / cp);
}
console.log(
  `random DAGs (10–200 steps): ${trials} checked, worst compiled-vs-critical-path difference ${(worst * 100).toFixed(6)}%`,
);
