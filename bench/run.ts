// `ferry run` figures: per-step orchestration overhead on a 1,000-step chain of
// `true`, and WfCommons instances (sleep-scaled) against the lower bound
// max(critical path, total work / slots).
// Run: npx tsx bench/run.ts [--steps 1000] [--critical-path-seconds 4] [--slots 16]
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CompiledWorkflow, compileSpec, criticalPath } from "@ferry/dsl-compiler";
import { runWorkflow } from "@ferry/edge-agent/local-run";
import { importWfCommons, parseWfInstance } from "@ferry/simulator";
import { WFCOMMONS_DIR } from "../test/support/wfcommons.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "1000" },
    "critical-path-seconds": { type: "string", default: "4" },
    slots: { type: "string", default: "16" },
  },
});
const projectDir = mkdtempSync(join(tmpdir(), "ferry-bench-run-"));
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

function compile(text: string): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(text);
  if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
  return compiled;
}

// 1. Chain of `true`: spacing between step starts, minus what spawning `true` costs by itself.
const n = Number(values.steps);
// The baseline is what one step minimally costs: an async spawn in its own process group, with pipes, awaited to exit.
const spawnMs: number[] = [];
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  await new Promise((resolve) => spawn("true", [], { stdio: "pipe", detached: true }).on("close", resolve));
  spawnMs.push(performance.now() - t0);
}
const chain = compile(
  JSON.stringify({
    name: "chain",
    sites: { lab: { type: "edge" } },
    steps: Array.from({ length: n }, (_, i) => ({
      name: `s${i}`,
      site: "lab",
      depends: i ? [`s${i - 1}`] : [],
      process: { command: ["true"] },
    })),
  }),
);
const chainRun = await runWorkflow(chain, { specFile: "chain", projectDir, input: {}, concurrency: 1 });
if (chainRun.record.status !== "SUCCEEDED")
  throw new Error(`chain run ${chainRun.record.status}: ${JSON.stringify(chainRun.record.error)}`);
const starts = chainRun.record.steps.map((s) => Date.parse(s.startedAt!));
const spacing = starts.slice(1).map((t, i) => t - starts[i]!);
const spawnP50 = percentile(spawnMs, 50);
const overhead = spacing.map((ms) => ms - spawnP50);
console.log(`chain of ${n} \`true\` steps: ${(chainRun.record.durationMs! / 1000).toFixed(2)} s in all`);
console.log(`  spawn of \`true\` alone (async, piped, own process group): p50 ${spawnP50.toFixed(2)} ms`);
console.log(
  `  step-to-step spacing: p50 ${percentile(spacing, 50).toFixed(1)} ms, p95 ${percentile(spacing, 95).toFixed(1)} ms (ms clock)`,
);
console.log(
  `  orchestration overhead above spawn: p50 ${percentile(overhead, 50).toFixed(2)} ms, mean ${(overhead.reduce((a, b) => a + b, 0) / overhead.length).toFixed(2)} ms`,
);

// 2. WfCommons instances, sleep-scaled so the critical path lasts a few seconds.
const slots = Number(values.slots);
console.log(
  `\nWfCommons instances, sleep-scaled to a ${values["critical-path-seconds"]} s critical path, ${slots} slots:`,
);
console.log(
  "instance                                   tasks   crit.path  work/slots  lower bound   measured   ratio",
);
for (const file of readdirSync(WFCOMMONS_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const { instance } = parseWfInstance(readFileSync(join(WFCOMMONS_DIR, file), "utf8"));
  const unscaled = compile(importWfCommons(instance!).yaml!);
  const index = new Map(unscaled.ir.steps.map((s, i) => [s.name, i]));
  const deps = unscaled.ir.steps.map((s) => s.depends.map((d) => index.get(d)!));
  const durations = unscaled.ir.steps.map((s) => Number(s.hints.durationSeconds ?? 0));
  const scale = Number(values["critical-path-seconds"]) / criticalPath(deps, (v) => durations[v]!).length;
  const compiled = compile(importWfCommons(instance!, { scale }).yaml!);
  // The imported steps sleep their scaled runtime; the lower bound uses exactly those sleeps.
  const sleeps = compiled.ir.steps.map((s) =>
    s.runtime.kind === "process" ? Number(s.runtime.command[1] ?? 0) : 0,
  );
  const cp = criticalPath(deps, (v) => sleeps[v]!).length;
  const work = sleeps.reduce((a, b) => a + b, 0) / slots;
  const bound = Math.max(cp, work);
  const run = await runWorkflow(compiled, { specFile: file, projectDir, input: {}, concurrency: slots });
  if (run.record.status !== "SUCCEEDED")
    throw new Error(`${file}: ${run.record.status} ${JSON.stringify(run.record.error)}`);
  const measured = run.record.durationMs! / 1000;
  console.log(
    `${file.replace(/\.json$/, "").padEnd(42)} ${String(sleeps.length).padStart(5)} ${cp.toFixed(2).padStart(10)} ${work.toFixed(2).padStart(11)} ${bound.toFixed(2).padStart(12)} ${measured.toFixed(2).padStart(10)} ${(measured / bound).toFixed(3).padStart(7)}`,
  );
}
rmSync(projectDir, { recursive: true, force: true });
