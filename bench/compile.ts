// Compile-time figures: validate + IR + ASL for 100, 1,000 and 10,000 steps.
// Run: npx tsx bench/compile.ts
import { performance } from "node:perf_hooks";
import { compileSpec } from "../dsl-compiler/src/compile.ts";
import { randomDag, seededRandom, specForDag } from "../dsl-compiler/src/testing/random-specs.ts";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log("steps   states  definition   compile p50 (validate+IR+ASL)");
for (const n of [100, 1_000, 10_000]) {
  const text = specForDag(randomDag(n, seededRandom(n), { maxDeps: 3, window: 10 }), { name: `bench-${n}` });
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
  console.log(`${String(n).padStart(6)}  ${summary}   ${median(times).toFixed(1).padStart(8)} ms`);
}
