// Runs one DAG file (bench/peers.ts writes it) through `ferry run`'s embedded runtime
// of the checkout given by --root, and prints the makespan in milliseconds as JSON.
//   npx tsx bench/peers-ferry.ts --root . --dag dag.json --concurrency 8
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { PeerDag } from "./peers-dags.ts";

const { values } = parseArgs({
  options: {
    root: { type: "string", default: "." },
    dag: { type: "string" },
    concurrency: { type: "string", default: "8" },
    /** Also print where time went: how long each step waited after its last dependency ended, and ran. */
    stats: { type: "boolean", default: false },
  },
});
const root = resolve(values.root!);
// The checkout's own packages, so one script measures main and a branch alike.
const { compileSpec } = (await import(
  join(root, "dsl-compiler/src/index.ts")
)) as typeof import("@ferry/dsl-compiler");
const { runWorkflow } = (await import(
  join(root, "edge-agent/src/local-run/index.ts")
)) as typeof import("@ferry/edge-agent/local-run");

const dag = JSON.parse(readFileSync(values.dag!, "utf8")) as PeerDag;
const spec = {
  name: "peers",
  sites: { lab: { type: "edge" } },
  steps: dag.steps.map((s) => ({
    name: s.name,
    site: "lab",
    depends: s.depends,
    process: { command: s.command },
  })),
};
const { compiled, diagnostics } = compileSpec(JSON.stringify(spec));
if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
const projectDir = mkdtempSync(join(process.env.PEERS_TMP ?? tmpdir(), "ferry-bench-peers-"));
try {
  const t0 = performance.now();
  const run = await runWorkflow(compiled, {
    specFile: "peers",
    projectDir,
    input: {},
    concurrency: Number(values.concurrency),
  });
  const makespanMs = performance.now() - t0;
  if (run.record.status !== "SUCCEEDED")
    throw new Error(`run ${run.record.status}: ${JSON.stringify(run.record.error)}`);
  if (values.stats) {
    const at = new Map(run.record.steps.map((s) => [s.name, s]));
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
    const waits: number[] = [];
    const extra: number[] = [];
    for (const step of dag.steps) {
      const r = at.get(step.name)!;
      const ready = Math.max(
        Date.parse(run.record.startedAt),
        ...step.depends.map((d) => Date.parse(at.get(d)!.finishedAt!)),
      );
      waits.push(Date.parse(r.startedAt!) - ready);
      extra.push(Date.parse(r.finishedAt!) - Date.parse(r.startedAt!) - step.seconds * 1000);
    }
    process.stderr.write(
      `wait after ready: p50 ${p(waits, 0.5)} ms, p90 ${p(waits, 0.9)} ms, max ${p(waits, 1)} ms; run beyond sleep: p50 ${p(extra, 0.5)} ms, p90 ${p(extra, 0.9)} ms\n`,
    );
  }
  process.stdout.write(`${JSON.stringify({ makespanMs })}\n`);
} finally {
  rmSync(projectDir, { recursive: true, force: true });
}
