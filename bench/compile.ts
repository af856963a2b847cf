// Compile-time figures: validate + IR + ASL for 100, 1,000 and 10,000 steps, on
// series-parallel fork-join pipelines and on random DAGs (the worst case: far from
// series-parallel, so most dependencies become joins across branches).
// Run: npx tsx bench/compile.ts
import { performance } from "node:perf_hooks";
import { randomDag, seededRandom, specForDag } from "@ferry/dsl-compiler/testing";
import { compileSpec } from "../dsl-compiler/src/compile.ts";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Fork-join stages (split → 9 in parallel → join), the shape of most ETL pipelines: series-parallel, no joins needed. */
function forkJoinDag(n: number): number[][] {
  return Array.from({ length: n }, (_, v) => {
    const stage = Math.floor(v / 11);
    const pos = v % 11;
    const base = stage * 11;
    if (pos === 0) return stage === 0 ? [] : [base - 1];
    if (pos === 10) return Array.from({ length: 9 }, (_, k) => base + 1 + k).filter((d) => d < n);
    return [base];
  });
}

console.log("shape        steps   states  definition   compile p50 (validate+IR+ASL)");
for (const [shape, n] of [
  ["fork-join", 100],
  ["fork-join", 1_000],
  ["fork-join", 10_000],
  ["random", 100],
  ["random", 1_000],
  ["random", 10_000],
] as const) {
  const deps =
    shape === "random" ? randomDag(n, seededRandom(n), { maxDeps: 3, window: 10 }) : forkJoinDag(n);
  const text = specForDag(deps, { name: `bench-${n}` });
  const times: number[] = [];
  let summary = "";
  for (let run = 0; run < (n >= 10_000 ? 3 : 7); run++) {
    const t0 = performance.now();
    const { compiled, diagnostics } = compileSpec(text);
    times.push(performance.now() - t0);
    if (!compiled) throw new Error(`bench spec invalid: ${JSON.stringify(diagnostics[0])}`);
    const machines = [compiled.stateMachine, ...compiled.childStateMachines];
    const states = machines.reduce((k, m) => k + Object.keys(m.states).length, 0);
    const bytes = machines.reduce((k, m) => k + JSON.stringify(m.definition).length, 0);
    summary = `${String(states).padStart(6)}  ${(bytes / 1024).toFixed(0).padStart(7)} KiB (${machines.length} machine${machines.length > 1 ? "s" : ""})`;
  }
  console.log(
    `${shape.padEnd(10)} ${String(n).padStart(6)}  ${summary}   ${median(times).toFixed(1).padStart(8)} ms`,
  );
}
