// Large fan-outs in `ferry run`: a Distributed Map (`foreach: { records }`)
// over N no-op function items, reporting items per second and the peak RSS
// of the process running it, against a baseline measured in the same run
// (the idle RSS before it, and an inline Map over 1,000 items).
// Goal (100,000 items): ≥ 2,000 items/s, peak RSS ≤ 300 MiB.
// LocalStack is not measured here: 500 process items take about 4 minutes
// there (its child executions run ~2 items/s on a shared 2-core machine),
// so 10,000 would take over an hour; test/large-foreach.test.ts runs 500.
// The measuring process starts with the V8 flags the `ferry` bin gives `ferry run`
// (cli/bin/v8-flags.js); `--no-run-flags` measures without them, for comparison.
// Run: npx tsx bench/foreach.ts [--items 100000] [--concurrency 64] [--no-run-flags]
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CompiledWorkflow, compileSpec } from "@ferry/dsl-compiler";
import { runWorkflow } from "@ferry/edge-agent/local-run";
import { v8FlagsFor } from "../cli/bin/v8-flags.js";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "64" },
    "no-run-flags": { type: "boolean", default: false },
  },
});
const runFlags = values["no-run-flags"] ? [] : v8FlagsFor(["run"]);
if (runFlags.some((flag) => !process.execArgv.includes(flag))) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...runFlags, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  process.exit(child.status ?? 1);
}
console.log(`V8 flags of the measuring process: ${runFlags.join(" ") || "none"}`);
const items = Number(values.items);
const projectDir = mkdtempSync(join(tmpdir(), "ferry-bench-foreach-"));
writeFileSync(join(projectDir, "package.json"), '{ "name": "bench", "private": true, "type": "module" }\n');
writeFileSync(join(projectDir, "noop.mjs"), "export async function handler() { return {}; }\n");
const MiB = 1024 * 1024;

/** `make` writes `items.json` (input.count records) with one process; `noop` fans out over them. */
function spec(name: string, distributed: boolean, site: { type: "edge" }, runtime: "function" | "process") {
  const make = `const fs=require("node:fs");const {input}=JSON.parse(fs.readFileSync(0,"utf8"));const out=fs.createWriteStream(process.env.FERRY_JOB_DIR+"/items.json");out.write("[");for(let i=0;i<input.count;i++)out.write((i?",":"")+'{"n":'+i+"}");out.end("]",()=>console.log(JSON.stringify({list:Array.from({length:Math.min(input.count,1000)},(_,n)=>n)})));`;
  return JSON.stringify({
    version: "1.1",
    name,
    sites: { lab: site },
    defaults: { heartbeatSeconds: 0 },
    steps: [
      { name: "make", site: "lab", process: { command: ["node", "-e", make] }, outputs: ["items.json"] },
      {
        name: "noop",
        depends: ["make"],
        site: "lab",
        foreach: distributed ? { records: "items.json" } : { items: "deps.make.list" },
        ...(runtime === "function"
          ? { function: { handler: "noop.mjs#handler" } }
          : { process: { command: ["true"] } }),
      },
    ],
  });
}

function compile(text: string): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(text);
  if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
  return compiled;
}

async function measure(compiled: CompiledWorkflow, count: number) {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const run = await runWorkflow(compiled, {
    specFile: "bench",
    projectDir,
    input: { count },
    concurrency: Number(values.concurrency),
  });
  clearInterval(sampler);
  if (run.record.status !== "SUCCEEDED")
    throw new Error(`run ${run.record.status}: ${JSON.stringify(run.record.error)}`);
  const noop = run.record.steps.find((s) => s.name === "noop")!;
  const seconds = (Date.parse(noop.finishedAt!) - Date.parse(noop.startedAt!)) / 1000;
  return { seconds, perSecond: count / seconds, peakMiB: peak / MiB, totalMs: performance.now() - t0 };
}

global.gc?.();
const idleMiB = process.memoryUsage().rss / MiB;
const inline = await measure(compile(spec("bench-inline", false, { type: "edge" }, "function")), 1000);
console.log(
  `baseline: idle RSS ${idleMiB.toFixed(0)} MiB; inline Map over 1,000 no-op function items: ${inline.perSecond.toFixed(0)} items/s, peak RSS ${inline.peakMiB.toFixed(0)} MiB`,
);
const big = await measure(compile(spec("bench-distributed", true, { type: "edge" }, "function")), items);
console.log(
  `ferry run, Distributed Map over ${items.toLocaleString("en")} no-op function items: ${big.seconds.toFixed(1)} s, ${big.perSecond.toFixed(0)} items/s (goal ≥ 2,000), peak RSS ${big.peakMiB.toFixed(0)} MiB (goal ≤ 300), maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
