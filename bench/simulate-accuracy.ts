/**
 * Simulator accuracy against real runs. For each vendored WfCommons instance:
 * import it with sleep steps scaled so its critical path lasts
 * `--critical-path-seconds`, run it with `ferry run`'s embedded runtime at
 * `--slots` steps at once, calibrate the simulator with the run record, and
 * simulate it on one machine with as many slots.
 *
 *   npx tsx bench/simulate-accuracy.ts [--slots 4] [--critical-path-seconds 4]
 *     [--instance montage] [--holdout]
 *
 * predicted  — from the spec's hints alone (the scaled runtimes), no dispatch latency
 * calibrated — step durations and dispatch gap from the run record (`--calibrate`)
 * measured   — the run's `durationMs`, start-up of the runtime included
 * error      — (calibrated − measured) / measured
 *
 * `--holdout` runs every instance again and also compares the first run's
 * calibrated prediction with the second run, which did not calibrate it.
 * Records stay in .ferry/bench/accuracy/.ferry/runs/ for `ferry simulate --calibrate`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { runWorkflow } from "@ferry/edge-agent/local-run";
import {
  type AccuracyRow,
  formatAccuracyTable,
  measureAccuracy,
  oneMachineTopology,
  scaleInstance,
  wfCommonsFiles,
} from "../test/support/accuracy.ts";

const { values } = parseArgs({
  options: {
    slots: { type: "string", default: "4" },
    "critical-path-seconds": { type: "string", default: "4" },
    instance: { type: "string", multiple: true, default: [] },
    holdout: { type: "boolean", default: false },
  },
});
const slots = Number(values.slots);
const criticalPathSeconds = Number(values["critical-path-seconds"]);
if (!Number.isInteger(slots) || slots < 1)
  throw new Error(`--slots must be a positive integer, got ${values.slots}`);
if (!(criticalPathSeconds > 0))
  throw new Error(
    `--critical-path-seconds must be a positive number, got ${values["critical-path-seconds"]}`,
  );
const projectDir = join(new URL("..", import.meta.url).pathname, ".ferry", "bench", "accuracy");
mkdirSync(projectDir, { recursive: true });

const files = wfCommonsFiles().filter(
  (f) => values.instance!.length === 0 || values.instance!.some((name) => f.startsWith(name)),
);
process.stdout.write(
  `Simulator accuracy: ${files.length} WfCommons instances, sleep-scaled to a ${criticalPathSeconds} s critical path, run with ferry run at ${slots} steps at once\n\n`,
);
const rows: AccuracyRow[] = [];
const holdout: string[] = [];
for (const file of files) {
  const instance = scaleInstance(file, criticalPathSeconds);
  writeFileSync(join(projectDir, `${instance.name}.yaml`), instance.yaml);
  const row = await measureAccuracy(instance, { slots, projectDir });
  rows.push(row);
  writeFileSync(
    join(projectDir, `${instance.name}.topology.yaml`),
    oneMachineTopology(slots, row.dispatchGapSeconds * 1000),
  );
  if (values.holdout) {
    const again = await runWorkflow(instance.compiled, {
      specFile: `${instance.name}.yaml`,
      projectDir,
      input: {},
      concurrency: slots,
    });
    const measured = again.record.durationMs! / 1000;
    const error = (row.calibratedSeconds - measured) / measured;
    holdout.push(
      `${instance.name}: calibrated ${row.calibratedSeconds.toFixed(2)} s (run 1), measured ${measured.toFixed(2)} s (run 2), error ${error >= 0 ? "+" : ""}${(error * 100).toFixed(1)}%`,
    );
  }
}
process.stdout.write(`${formatAccuracyTable(rows)}\n`);
const worst = Math.max(...rows.map((r) => Math.abs(r.error)));
process.stdout.write(
  `\nworst |error| ${(worst * 100).toFixed(1)}% (target ≤ 10%); dispatch gap = mean start delay of steps that did not queue for a slot\n`,
);
if (holdout.length > 0)
  process.stdout.write(
    `\nheld out (calibrated from one run, measured on the next):\n  ${holdout.join("\n  ")}\n`,
  );
const shown = relative(process.cwd(), projectDir);
const first = rows[0];
if (first)
  process.stdout.write(
    `\nspecs, topologies and run records in ${shown}; to see one calibrated report:\n  npx ferry simulate ${join(shown, `${first.instance}.yaml`)} --topology ${join(shown, `${first.instance}.topology.yaml`)} --calibrate ${relative(process.cwd(), first.runDir)}\n`,
  );
