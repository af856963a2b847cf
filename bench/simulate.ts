/**
 * Simulator speed: 100 simulated runs of a 1,000-plus-task workflow (goal ≤ 2 s).
 *
 * The workflow is a Montage instance generated with the `wfcommons` Python
 * package's recipe (seeded, so every machine gets the same DAG), installed on
 * first use into the project-local virtualenv `.venv/wfcommons`.
 *
 *   npx tsx bench/simulate.ts [--tasks 1200] [--recipe montage|epigenomics]
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  buildSimModel,
  importWfCommons,
  type Placement,
  parseWfInstance,
  prepareSimulation,
  type SimulationReport,
  simulate,
} from "@ferry/simulator";
import { generatedInstance, WFCOMMONS_VERSION } from "./wfcommons-instance.ts";

const { values } = parseArgs({
  options: { tasks: { type: "string", default: "1200" }, recipe: { type: "string", default: "montage" } },
});
const tasks = Number(values.tasks);
const recipe = values.recipe!;

const TOPOLOGY = `
name: bench-edge-and-cloud
sites:
  edge:
    type: edge
    devices:
      - { name: node, count: 8, slots: 4, speed: 1, failure: { availability: 0.999, mttrSeconds: 600 } }
  cloud:
    type: aws
links:
  - { from: edge, to: cloud, bandwidthMbps: 100, latencyMs: 20 }
`;

const instancePath = generatedInstance(recipe, tasks);
const { instance, diagnostics } = parseWfInstance(readFileSync(instancePath, "utf8"));
if (!instance)
  throw new Error(`cannot read ${instancePath}: ${diagnostics.map((d) => d.message).join("; ")}`);
const imported = importWfCommons(instance, { site: "edge" });
if (!imported.yaml)
  throw new Error(`import failed: ${imported.diagnostics.map((d) => d.message).join("; ")}`);
const specText = imported.yaml.replace(
  "sites:\n  edge: { type: edge }",
  "sites:\n  edge: { type: edge }\n  cloud: { type: aws, region: us-east-1 }",
);

const prepStart = performance.now();
const { prepared, diagnostics: prepDiagnostics } = prepareSimulation({ specText, topologyText: TOPOLOGY });
if (!prepared) throw new Error(prepDiagnostics.map((d) => d.message).join("; "));
const prepMs = performance.now() - prepStart;
const edges = prepared.ir.steps.reduce((n, s) => n + s.depends.length, 0);

// Half the task kinds in the cloud, so the second scenario moves data over the link.
const kinds = [...new Set(prepared.ir.steps.map((s) => s.name.replace(/_\d+$/, "")))].sort();
const cloudKinds = new Set(kinds.filter((_, i) => i % 2 === 1));
const split: Placement = Object.fromEntries(
  prepared.ir.steps.filter((s) => cloudKinds.has(s.name.replace(/_\d+$/, ""))).map((s) => [s.name, "cloud"]),
);

process.stdout.write(
  `${recipe} instance from wfcommons ${WFCOMMONS_VERSION}: ${prepared.ir.steps.length} tasks, ${edges} edges (spec parse + validate + IR: ${prepMs.toFixed(0)} ms)\n\n`,
);
const rows: string[][] = [
  ["scenario", "100 runs, 1st", "100 runs, 2nd", "per run", "makespan p50", "moved/run"],
];
for (const [label, placement] of [
  ["all on 8 edge nodes", {}],
  [`edge + Fargate (${cloudKinds.size} of ${kinds.length} kinds)`, split],
] as Array<[string, Placement]>) {
  const model = buildSimModel(prepared.ir, prepared.topology, prepared.costs, placement);
  const timings: number[] = [];
  let report: SimulationReport | undefined;
  for (let round = 0; round < 2; round++) {
    const start = performance.now();
    report = simulate(model, { runs: 100, seed: 42 });
    timings.push(performance.now() - start);
  }
  const moved = report!.transfers.reduce((n, t) => n + t.bytes, 0);
  rows.push([
    label,
    `${timings[0]!.toFixed(0)} ms`,
    `${timings[1]!.toFixed(0)} ms`,
    `${(timings[1]! / 100).toFixed(2)} ms`,
    `${(report!.makespanSeconds?.p50 ?? Number.NaN).toFixed(0)} s`,
    `${(moved / 1e9).toFixed(1)} GB`,
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows)
  process.stdout.write(
    `${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`,
  );
process.stdout.write("\ngoal: 100 runs of a 1,000-plus-task instance in ≤ 2 s (1st includes JIT warm-up)\n");
