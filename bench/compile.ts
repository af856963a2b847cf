// Compile-time figures: validate + IR + ASL for 100, 1,000 and 10,000 steps, on
// series-parallel fork-join pipelines and on random DAGs (the worst case: far from
// series-parallel, so most dependencies become joins across branches).
// With --baseline <checkout>, that checkout's compiler runs the same specs in the same
// rounds (the two take turns), and the outputs are checked to be the same.
// Wall and CPU time (user + system of the main thread, where Node has threadCpuUsage; of
// the process otherwise): on a loaded machine wall times wait for a core, CPU times much less.
// Run: npx tsx bench/compile.ts [--baseline ../main] [--only random-10000]
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { randomDag, seededRandom, specForDag } from "@ferry/dsl-compiler/testing";
import { compileSpec } from "../dsl-compiler/src/compile.ts";

const { values } = parseArgs({ options: { baseline: { type: "string" }, only: { type: "string" } } });
type Compile = typeof compileSpec;
type Usage = { user: number; system: number };
const threadCpu = (process as { threadCpuUsage?: (since?: Usage) => Usage }).threadCpuUsage;
const cpuUsage = (since?: Usage): Usage =>
  threadCpu ? threadCpu.call(process, since) : process.cpuUsage(since);
const compilers: [string, Compile][] = [["this", compileSpec]];
if (values.baseline) {
  const url = pathToFileURL(resolve(values.baseline, "dsl-compiler/src/compile.ts")).href;
  compilers.push(["baseline", ((await import(url)) as { compileSpec: Compile }).compileSpec]);
}

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

console.log(
  `shape        steps   states  definition            compile p50 (validate+IR+ASL), wall / CPU${compilers.length > 1 ? ", this vs baseline" : ""}`,
);
for (const [shape, n] of [
  ["fork-join", 100],
  ["fork-join", 1_000],
  ["fork-join", 10_000],
  ["random", 100],
  ["random", 1_000],
  ["random", 10_000],
] as const) {
  if (values.only && values.only !== `${shape}-${n}`) continue;
  const deps =
    shape === "random" ? randomDag(n, seededRandom(n), { maxDeps: 3, window: 10 }) : forkJoinDag(n);
  const text = specForDag(deps, { name: `bench-${n}` });
  const times = compilers.map(() => [] as number[]);
  const cpus = compilers.map(() => [] as number[]);
  const outputs: string[] = [];
  let summary = "";
  for (let run = 0; run < (n >= 10_000 ? 3 : 7); run++) {
    for (let k = 0; k < compilers.length; k++) {
      const i = (k + run) % compilers.length;
      const c0 = cpuUsage();
      const t0 = performance.now();
      const { compiled, diagnostics } = compilers[i]![1](text);
      times[i]!.push(performance.now() - t0);
      const cpu = cpuUsage(c0);
      cpus[i]!.push((cpu.user + cpu.system) / 1000);
      if (!compiled) throw new Error(`bench spec invalid: ${JSON.stringify(diagnostics[0])}`);
      if (run === 0) outputs[i] = JSON.stringify(compiled);
      const machines = [compiled.stateMachine, ...compiled.childStateMachines];
      const states = machines.reduce((k, m) => k + Object.keys(m.states).length, 0);
      const bytes = machines.reduce((k, m) => k + JSON.stringify(m.definition).length, 0);
      summary = `${String(states).padStart(6)}  ${(bytes / 1024).toFixed(0).padStart(7)} KiB (${machines.length} machine${machines.length > 1 ? "s" : ""})`;
    }
  }
  if (outputs.some((o) => o !== outputs[0]))
    throw new Error(`${shape} ${n}: the baseline compiles differently`);
  const cells = compilers.map(
    (_, i) => `${median(times[i]!).toFixed(1).padStart(8)} / ${median(cpus[i]!).toFixed(1).padStart(8)} ms`,
  );
  console.log(`${shape.padEnd(10)} ${String(n).padStart(6)}  ${summary.padEnd(30)} ${cells.join("   ")}`);
}
