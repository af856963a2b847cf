/**
 * `ferry ui` speed: time to first render of a 1,300-step run page in headless
 * Chromium (goal ≤ 1.5 s), against a 2-step run page measured in the same
 * run as the baseline, and the server's resident memory.
 *
 * The big run is a Montage instance from `bench/simulate-generate.py`
 * (wfcommons), imported and compiled like any spec; its run record is
 * written as a run part-way through (succeeded, running, failed and pending
 * steps), so the page draws every state. "First render" is from navigation
 * start until the DAG's nodes and the timeline are in the page.
 *
 *   npx tsx bench/ui.ts [--tasks 1300]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { compileSpec } from "@ferry/dsl-compiler";
import { newRunId, type RunRecord, runsRoot, writeRunRecord } from "@ferry/edge-agent/local-run";
import { importWfCommons, parseWfInstance } from "@ferry/simulator";
import { launchChromium } from "../test/support/browser.ts";
import { wfCommonsInstance } from "./wfcommons-instance.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({ options: { tasks: { type: "string", default: "1300" } } });
const TOKEN = "bench-ui-token-0123456789abcdef";

const instancePath = wfCommonsInstance("montage", Number(values.tasks));
const { instance } = parseWfInstance(readFileSync(instancePath, "utf8"));
const imported = importWfCommons(instance!, { site: "edge" });
const { compiled } = compileSpec(imported.yaml!);
if (!compiled) throw new Error(`${instancePath}: the imported spec does not compile`);
const steps = compiled.ir.steps;

const project = mkdtempSync(join(tmpdir(), "ferry-bench-ui-"));
writeFileSync(join(project, "package.json"), '{ "name": "bench-ui", "private": true }\n');

/** A run record part-way through: the first 70 % succeeded (one failed), then some running, the rest pending. */
async function writeRun(
  workflow: string,
  list: ReadonlyArray<{ name: string; site: string; depends: readonly string[] }>,
): Promise<string> {
  const runId = newRunId();
  const t0 = Date.now() - 60_000;
  const record: RunRecord = {
    runId,
    workflow,
    status: "RUNNING",
    startedAt: new Date(t0).toISOString(),
    input: {},
    specFile: "bench.yaml",
    steps: list.map((s, i) => {
      const f = i / list.length;
      const start = new Date(t0 + i * 40).toISOString();
      const status =
        i === Math.floor(list.length / 3)
          ? "FAILED"
          : f < 0.7
            ? "SUCCEEDED"
            : f < 0.8
              ? "RUNNING"
              : "PENDING";
      return {
        name: s.name,
        site: s.site,
        depends: [...s.depends],
        status,
        attempts: status === "PENDING" ? 0 : 1,
        ...(status === "PENDING" ? {} : { startedAt: start }),
        ...(status === "SUCCEEDED" || status === "FAILED"
          ? { finishedAt: new Date(t0 + i * 40 + 2000).toISOString() }
          : {}),
        ...(status === "FAILED" ? { error: "Ferry.ExitCode", cause: "exited with code 1" } : {}),
      };
    }),
  };
  await writeRunRecord(join(runsRoot(project), runId), record);
  return runId;
}

const small = await writeRun("baseline", [
  { name: "extract", site: "laptop", depends: [] },
  { name: "summarize", site: "laptop", depends: ["extract"] },
]);
const big = await writeRun(compiled.ir.name, steps);

const ui = spawn(process.execPath, [join(ROOT, "cli", "bin", "ferry.js"), "ui", "--port", "0"], {
  cwd: project,
  env: { ...process.env, FERRY_UI_TOKEN: TOKEN },
  stdio: ["ignore", "pipe", "inherit"],
});
const base = await new Promise<string>((resolve, reject) => {
  let out = "";
  ui.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    const url = /serving \S+ on (\S+)/.exec(out)?.[1];
    if (url) resolve(url);
  });
  ui.once("exit", (code) => reject(new Error(`ferry ui exited ${code}`)));
});
const rssMiB = (field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${ui.pid}/status`, "utf8"))![1]) /
  1024;
const idleRss = rssMiB("VmRSS");

const browser = await launchChromium();
const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
await page.goto(`${base}/login?token=${TOKEN}`);

async function firstRender(runId: string): Promise<{ ms: number; nodes: number }> {
  const start = performance.now();
  await page.goto(`${base}/runs/${runId}`);
  await page.locator(".dag .node").first().waitFor();
  await page.locator(".gantt").waitFor();
  const ms = performance.now() - start;
  return { ms, nodes: await page.locator(".dag .node").count() };
}

const rows: string[][] = [["page", "steps", "DAG nodes", "1st load (cold layout)", "2nd load", "3rd load"]];
for (const [label, runId, count] of [
  ["baseline run", small, 2],
  [`montage run`, big, steps.length],
] as const) {
  const loads = [await firstRender(runId), await firstRender(runId), await firstRender(runId)];
  rows.push([label, String(count), String(loads[0]!.nodes), ...loads.map((l) => `${l.ms.toFixed(0)} ms`)]);
}
const edges = steps.reduce((n, s) => n + s.depends.length, 0);
process.stdout.write(`montage instance: ${steps.length} steps, ${edges} edges (${instancePath})\n\n`);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join("  ")}\n`);
const bigCold = Number(rows[2]![3]!.split(" ")[0]);
process.stdout.write(
  `\ntime to first render, 1,300-step page: ${bigCold} ms (goal ≤ 1500 ms: ${bigCold <= 1500 ? "met" : "NOT met"})\n` +
    `server RSS: ${idleRss.toFixed(0)} MiB idle, ${rssMiB("VmRSS").toFixed(0)} MiB after the loads, peak ${rssMiB("VmHWM").toFixed(0)} MiB\n`,
);
await page.goto(`${base}/runs/${big}`);
await page.locator(".dag .node").first().waitFor();
await page.screenshot({ path: join(ROOT, ".ferry", "bench", "ui-montage.png") });
await browser.close();
ui.kill("SIGTERM");
