// Whole-process figures of the `ferry` command, built (dist/cli/) against its
// TypeScript sources through tsx (FERRY_CLI_SOURCES=1, the bin before the build
// existed) and, with --baseline <checkout>, against that checkout's bin, in the
// same rounds (the runners take turns; medians of --rounds):
//   - `ferry validate examples/hello/workflow.yaml`: wall time, and its ratio to `node -e 0`;
//   - `ferry compile examples/hello/workflow.yaml --out <tmp>`: wall time and peak RSS
//     of the ferry process, with the Lambda bundle cache warm (the first round fills it).
// Each also in CPU time (user + system of the ferry process): on a loaded machine
// wall times wait for a core, CPU times much less.
// It builds the CLI first (npm run build:cli).
//   npx tsx bench/cli-startup.ts [--rounds 5] [--baseline ../main]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, baseline: { type: "string" } },
});
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Peak RSS (getrusage's maxrss, KiB) and CPU time (µs) of the ferry process, written as it exits.
// The bin replaces itself (execve) with a Node given a small young generation for the synthesizing
// commands; the probe is loaded again there, and getrusage spans both images of the one process.
// Were there ever two processes, the figures would add up (the sum of peaks bounding the peak).
const scratch = mkdtempSync(join(tmpdir(), "ferry-cli-bench-"));
const rssFile = join(scratch, "rss");
const RSS_PROBE = `data:text/javascript,${encodeURIComponent(
  'import { readFileSync, writeFileSync } from "node:fs"; process.on("exit", () => { const u = process.resourceUsage(); const f = process.env.FERRY_BENCH_RSS_FILE; let [rss, cpu] = [0, 0]; try { [rss, cpu] = JSON.parse(readFileSync(f, "utf8")); } catch {} writeFileSync(f, JSON.stringify([rss + u.maxRSS, cpu + u.userCPUTime + u.systemCPUTime])); });',
)}`;

interface Runner {
  label: string;
  root: string;
  env: Record<string, string>;
}
const runners: Runner[] = [
  { label: "built", root: ROOT, env: {} },
  { label: "sources (tsx)", root: ROOT, env: { FERRY_CLI_SOURCES: "1" } },
];
if (values.baseline) runners.push({ label: "baseline", root: resolve(values.baseline), env: {} });

function run(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { ms: number; cpuMs: number; rssMiB: number } {
  rmSync(rssFile, { force: true });
  const t0 = performance.now();
  execFileSync(process.execPath, ["--import", RSS_PROBE, ...args], {
    cwd,
    env: { ...process.env, ...env, FERRY_BENCH_RSS_FILE: rssFile },
    stdio: "ignore",
  });
  const ms = performance.now() - t0;
  const [rss, cpu] = JSON.parse(readFileSync(rssFile, "utf8")) as [number, number];
  return { ms, cpuMs: cpu / 1000, rssMiB: rss / 1024 };
}

execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "cli"], { cwd: ROOT, stdio: "inherit" });

const results = new Map<string, number[]>();
const add = (key: string, value: number) => results.set(key, [...(results.get(key) ?? []), value]);
for (let round = 0; round < rounds; round++) {
  const bare = run(["-e", "0"], ROOT);
  add("node -e 0", bare.ms);
  add("node -e 0 cpu", bare.cpuMs);
  for (let i = 0; i < runners.length; i++) {
    const { label, root, env } = runners[(i + round) % runners.length]!;
    const bin = join(root, "cli", "bin", "ferry.js");
    const validate = run([bin, "validate", "examples/hello/workflow.yaml"], root, env);
    add(`validate|${label}`, validate.ms);
    add(`validateCpu|${label}`, validate.cpuMs);
    const out = join(scratch, "out");
    const compile = run([bin, "compile", "examples/hello/workflow.yaml", "--out", out], root, env);
    rmSync(out, { recursive: true, force: true });
    add(`compile|${label}`, compile.ms);
    add(`compileCpu|${label}`, compile.cpuMs);
    add(`compileRss|${label}`, compile.rssMiB);
    process.stderr.write(
      `round ${round + 1} ${label}: validate ${validate.ms.toFixed(0)} ms, compile --out ${compile.ms.toFixed(0)} ms / ${compile.rssMiB.toFixed(0)} MiB\n`,
    );
  }
}
rmSync(scratch, { recursive: true, force: true });

const m = (key: string) => median(results.get(key)!);
const bare = m("node -e 0");
const bareCpu = m("node -e 0 cpu");
console.log(
  `median of ${rounds} rounds; node -e 0: ${bare.toFixed(0)} ms wall, ${bareCpu.toFixed(0)} ms CPU`,
);
const columns = ["validate", "÷ node", "validate CPU", "÷ node", "compile --out", "CPU", "peak RSS"];
console.log(`${"".padEnd(15)}${columns.map((c) => c.padStart(14)).join("")}`);
for (const { label } of runners) {
  const cells = [
    `${m(`validate|${label}`).toFixed(0)} ms`,
    `×${(m(`validate|${label}`) / bare).toFixed(2)}`,
    `${m(`validateCpu|${label}`).toFixed(0)} ms`,
    `×${(m(`validateCpu|${label}`) / bareCpu).toFixed(2)}`,
    `${m(`compile|${label}`).toFixed(0)} ms`,
    `${m(`compileCpu|${label}`).toFixed(0)} ms`,
    `${m(`compileRss|${label}`).toFixed(0)} MiB`,
  ];
  console.log(`${label.padEnd(15)}${cells.map((c) => c.padStart(14)).join("")}`);
}
