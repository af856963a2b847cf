/**
 * Held-out simulator accuracy on the embedded runtime (`ferry run`): for each
 * check instance, calibrate the simulator from one run at `--calibrate-slots`,
 * predict the makespan at each of `--predict-slots`, then run those and print
 * the errors. The prediction never sees the run it is compared with.
 *
 *   npx tsx bench/simulate-heldout.ts [--calibrate-slots 4] [--predict-slots 2,8]
 *     [--critical-path-seconds 2] [--step-seconds 0.2] [--repeat 3] [--tuning]
 *
 * Tuning instances (used while diagnosing the model; `--tuning` runs them):
 *   montage (vendored) and synthetic-wide (seed 7).
 * Check instances (never used to tune; the figures to quote):
 *   epigenomics, 1000genome, soykb (vendored WfCommons, sleep-scaled),
 *   synthetic-chains and synthetic-joins (seed 7).
 *
 * On a shared machine the load of other work moves single runs by tens of
 * percent, so every comparison is repeated `--repeat` times (a fresh
 * calibrating run each time) and the table shows medians.
 */
import { mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  formatHeldOutTable,
  type HeldOutRow,
  measureHeldOut,
  type ScaledInstance,
  scaleInstance,
} from "../test/support/accuracy.ts";
import { syntheticInstance } from "../test/support/synthetic-workflows.ts";

const { values } = parseArgs({
  options: {
    "calibrate-slots": { type: "string", default: "4" },
    "predict-slots": { type: "string", default: "2,8" },
    "critical-path-seconds": { type: "string", default: "2" },
    "step-seconds": { type: "string", default: "0.2" },
    repeat: { type: "string", default: "3" },
    tuning: { type: "boolean", default: false },
  },
});
const calibrateSlots = positiveInteger("--calibrate-slots", values["calibrate-slots"]!);
const predictSlots = values["predict-slots"]!.split(",").map((s) => positiveInteger("--predict-slots", s));
const repeat = positiveInteger("--repeat", values.repeat!);
const criticalPathSeconds = Number(values["critical-path-seconds"]);
const stepSeconds = Number(values["step-seconds"]);
if (!(criticalPathSeconds > 0) || !(stepSeconds > 0))
  throw new Error("--critical-path-seconds and --step-seconds must be positive numbers");

const wfcommons = (name: string) => scaleInstance(`${name}.json`, criticalPathSeconds);
const tuning: Array<() => ScaledInstance> = [
  () => wfcommons("montage-chameleon-2mass-01d-001"),
  () => syntheticInstance("wide", { stepSeconds }),
];
const check: Array<() => ScaledInstance> = [
  () => wfcommons("epigenomics-chameleon-hep-1seq-100k-001"),
  () => wfcommons("1000genome-chameleon-2ch-100k-001"),
  () => wfcommons("soykb-chameleon-10fastq-10ch-001"),
  () => syntheticInstance("chains", { stepSeconds }),
  () => syntheticInstance("joins", { stepSeconds }),
];

const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(", ")}`;
const projectDir = join(new URL("..", import.meta.url).pathname, ".ferry", "bench", "heldout");
mkdirSync(projectDir, { recursive: true });
process.stdout.write(
  `${load()}\nHeld-out accuracy, embedded runtime: calibrated from a run at ${calibrateSlots} slots, predicting ${predictSlots.join(" and ")} slots (WfCommons critical path ${criticalPathSeconds} s, synthetic steps ~${stepSeconds} s)\n\n`,
);
for (const [label, set] of [
  ...(values.tuning ? ([["tuning instances", tuning]] as const) : []),
  ["check instances", check],
] as const) {
  const rows: HeldOutRow[] = [];
  for (const make of set) {
    const instance = make();
    const tries: HeldOutRow[][] = [];
    for (let i = 0; i < repeat; i++)
      tries.push(await measureHeldOut(instance, { calibrateSlots, predictSlots, projectDir }));
    rows.push(...predictSlots.map((_, k) => medianRow(tries.map((t) => t[k]!))));
  }
  const worst = Math.max(...rows.map((r) => Math.abs(r.error)));
  process.stdout.write(
    `${label} (medians of ${repeat}; ${load()} at the end):\n${formatHeldOutTable(rows)}\nworst |error| ${(worst * 100).toFixed(1)}% (target ≤ 10%)\n\n`,
  );
}

/** Medians of predicted, measured and error over repeated comparisons of one configuration. */
function medianRow(rows: HeldOutRow[]): HeldOutRow {
  const median = (pick: (r: HeldOutRow) => number) => {
    const v = rows.map(pick).sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  return {
    ...rows[0]!,
    predictedSeconds: median((r) => r.predictedSeconds),
    p95Seconds: median((r) => r.p95Seconds),
    serialStartSeconds: median((r) => r.serialStartSeconds),
    measuredSeconds: median((r) => r.measuredSeconds),
    error: median((r) => r.error),
    dispatchGapSeconds: median((r) => r.dispatchGapSeconds),
  };
}

function positiveInteger(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be positive integers, got "${raw}"`);
  return n;
}
