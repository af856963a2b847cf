/**
 * Simulator accuracy against real runs: for each shared WfCommons instance,
 * the sleep-scaled spec, the prediction for one machine with `--slots`
 * concurrent steps, and, where a `ferry run` record of it is given, the
 * calibrated prediction against the measured duration.
 *
 *   npx tsx bench/simulate-accuracy.ts [--scale 0.01] [--slots 4]
 *     [--record epigenomics=.ferry/runs/<id> ...]
 *
 * Without records it writes the specs to .ferry/bench/accuracy/ and prints the
 * predictions and the `ferry run` commands that produce the records.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  buildSimModel,
  importWfCommons,
  parseWfInstance,
  prepareSimulation,
  simulate,
} from "@ferry/simulator";

const ROOT = new URL("..", import.meta.url).pathname;
const WORKLOADS = join(ROOT, "..", "shared", "workloads", "wfcommons");
const OUT = join(".ferry", "bench", "accuracy");

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "0.01" },
    slots: { type: "string", default: "4" },
    record: { type: "string", multiple: true, default: [] },
  },
});
const scale = Number(values.scale);
const slots = Number(values.slots);
const records = new Map(values.record!.map((r) => r.split("=", 2) as [string, string]));

function topology(dispatchMs: number): string {
  return `name: one-machine\nsites:\n  local:\n    type: edge\n    devices: [{ name: host, slots: ${slots} }]\n    dispatchLatency: { ms: ${dispatchMs} }\n`;
}

const rows: string[][] = [["instance", "tasks", "predicted", "calibrated", "measured", "error"]];
const commands: string[] = [];
for (const file of readdirSync(WORKLOADS)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const key = file.split("-")[0]!;
  const { instance } = parseWfInstance(readFileSync(join(WORKLOADS, file), "utf8"));
  const imported = importWfCommons(instance!, { scale, site: "local", sourceName: file });
  const specPath = join(OUT, `${key}.yaml`);
  mkdirSync(join(ROOT, OUT), { recursive: true });
  writeFileSync(join(ROOT, specPath), imported.yaml!);
  commands.push(`npx ferry run ${specPath}   # with ${slots} steps at once`);

  const predict = (runRecordText?: string, dispatchMs = 0) => {
    const { prepared } = prepareSimulation({
      specText: imported.yaml!,
      topologyText: topology(dispatchMs),
      ...(runRecordText ? { runRecordText } : {}),
    });
    const report = simulate(buildSimModel(prepared!.ir, prepared!.topology, prepared!.costs), { runs: 1 });
    return { p50: report.makespanSeconds!.p50, calibration: prepared!.calibration };
  };
  const plain = predict();
  const runDir = records.get(key);
  if (!runDir) {
    rows.push([
      key,
      String(instance!.workflow.specification.tasks.length),
      `${plain.p50.toFixed(2)} s`,
      "-",
      "-",
      "-",
    ]);
    continue;
  }
  const text = readFileSync(join(ROOT, runDir, "run.json"), "utf8");
  const first = predict(text);
  const calibrated = predict(text, (first.calibration?.dispatchGapSeconds ?? 0) * 1000);
  const measured = first.calibration?.measuredMakespanSeconds ?? Number.NaN;
  const error = Math.abs(calibrated.p50 - measured) / measured;
  rows.push([
    key,
    String(instance!.workflow.specification.tasks.length),
    `${plain.p50.toFixed(2)} s`,
    `${calibrated.p50.toFixed(2)} s`,
    `${measured.toFixed(2)} s`,
    `${(error * 100).toFixed(1)}%`,
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows)
  process.stdout.write(
    `${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`,
  );
if (records.size === 0)
  process.stdout.write(
    `\nRecord real runs, then pass --record <instance>=.ferry/runs/<id>:\n  ${commands.join("\n  ")}\n`,
  );
