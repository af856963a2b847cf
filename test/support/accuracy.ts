import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CompiledWorkflow, compileSpec, criticalPath } from "@ferry/dsl-compiler";
import { runWorkflow } from "@ferry/edge-agent/local-run";
import {
  buildSimModel,
  importWfCommons,
  parseWfInstance,
  prepareSimulation,
  type RunCalibration,
  simulate,
} from "@ferry/simulator";
import { WFCOMMONS_DIR } from "./wfcommons.ts";

/** One WfCommons instance turned into a Ferry spec whose steps sleep their scaled runtimes. */
export interface ScaledInstance {
  /** File name without `.json`. */
  name: string;
  tasks: number;
  /** Runtime multiplier that gives the wanted critical path. */
  scale: number;
  yaml: string;
  compiled: CompiledWorkflow;
}

/** What one instance predicted and measured. */
export interface AccuracyRow {
  instance: string;
  tasks: number;
  slots: number;
  /** From the spec's hints alone, with no dispatch latency. */
  predictedSeconds: number;
  /** From the run record: step durations and dispatch gap. */
  calibratedSeconds: number;
  /** The run's `durationMs`. */
  measuredSeconds: number;
  /** `(calibrated − measured) / measured`. */
  error: number;
  /** Mean dispatch gap the calibrated prediction used. */
  dispatchGapSeconds: number;
  runDir: string;
}

/** The shared instances' files, sorted. */
export function wfCommonsFiles(): string[] {
  return readdirSync(WFCOMMONS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort();
}

/**
 * Imports an instance with sleep steps scaled so its critical path (by the
 * recorded runtimes) lasts `criticalPathSeconds`, all on one site.
 */
export function scaleInstance(file: string, criticalPathSeconds: number, site = "local"): ScaledInstance {
  const { instance, diagnostics } = parseWfInstance(readFileSync(join(WFCOMMONS_DIR, file), "utf8"));
  if (!instance) throw new Error(`${file}: ${JSON.stringify(diagnostics[0])}`);
  const unscaled = compile(file, importWfCommons(instance, { site }).yaml);
  const index = new Map(unscaled.ir.steps.map((s, i) => [s.name, i]));
  const deps = unscaled.ir.steps.map((s) => s.depends.map((d) => index.get(d)!));
  const runtimes = unscaled.ir.steps.map((s) => Number(s.hints.durationSeconds ?? 0));
  const scale = criticalPathSeconds / criticalPath(deps, (v) => runtimes[v]!).length;
  const { yaml } = importWfCommons(instance, { scale, site, sourceName: file });
  return {
    name: file.replace(/\.json$/, ""),
    tasks: instance.workflow.specification.tasks.length,
    scale,
    yaml: yaml!,
    compiled: compile(file, yaml),
  };
}

/**
 * One machine running `slots` steps at once, on the embedded runtime.
 * `dispatchMs` fixes the dispatch latency; without it the runtime's (or the
 * calibrating record's) applies.
 */
export function oneMachineTopology(slots: number, dispatchMs?: number, site = "local"): string {
  return [
    "name: one-machine",
    "runtime: embedded",
    "sites:",
    `  ${site}:`,
    "    type: edge",
    `    devices: [{ name: host, slots: ${slots} }]`,
    ...(dispatchMs === undefined ? [] : [`    dispatchLatency: { ms: ${dispatchMs} }`]),
    "",
  ].join("\n");
}

/** Simulated makespan of `specText` on one machine, calibrated by `runRecordText` when given. */
export function predictMakespan(
  specText: string,
  slots: number,
  dispatchMs: number | undefined,
  runRecordText?: string,
): { seconds: number; p95Seconds: number; calibration?: RunCalibration } {
  const { prepared, diagnostics } = prepareSimulation({
    specText,
    topologyText: oneMachineTopology(slots, dispatchMs),
    ...(runRecordText === undefined ? {} : { runRecordText }),
  });
  const problems = diagnostics.filter((d) => d.severity === "error" || d.source === "run-record");
  if (!prepared || problems.length > 0) throw new Error(`cannot simulate: ${JSON.stringify(problems[0])}`);
  const report = simulate(buildSimModel(prepared.ir, prepared.topology, prepared.costs), { runs: 25 });
  return {
    seconds: report.makespanSeconds!.p50,
    p95Seconds: report.makespanSeconds!.p95,
    ...(prepared.calibration ? { calibration: prepared.calibration } : {}),
  };
}

/**
 * Runs the instance with `ferry run`'s embedded runtime at `slots` steps at
 * once, calibrates the simulator with the run record it wrote, and compares.
 *
 * The calibrated prediction takes each step's duration from the record and
 * the mean dispatch gap of steps that did not queue for a slot as the site's
 * dispatch latency; the simulation does the queueing itself.
 */
export async function measureAccuracy(
  instance: ScaledInstance,
  options: { slots: number; projectDir: string },
): Promise<AccuracyRow> {
  const { record, runDir } = await runWorkflow(instance.compiled, {
    specFile: `${instance.name}.yaml`,
    projectDir: options.projectDir,
    input: {},
    concurrency: options.slots,
  });
  if (record.status !== "SUCCEEDED")
    throw new Error(`${instance.name}: run ${record.status}: ${JSON.stringify(record.error)}`);
  const recordText = readFileSync(join(runDir, "run.json"), "utf8");
  const { calibration } = predictMakespan(instance.yaml, options.slots, 0, recordText);
  const dispatchGapSeconds = calibration?.dispatchGapMeanSeconds ?? 0;
  const calibrated = predictMakespan(instance.yaml, options.slots, dispatchGapSeconds * 1000, recordText);
  const measuredSeconds = record.durationMs! / 1000;
  return {
    instance: instance.name,
    tasks: instance.tasks,
    slots: options.slots,
    predictedSeconds: predictMakespan(instance.yaml, options.slots, 0).seconds,
    calibratedSeconds: calibrated.seconds,
    measuredSeconds,
    error: (calibrated.seconds - measuredSeconds) / measuredSeconds,
    dispatchGapSeconds,
    runDir,
  };
}

/** The table the simulator issue asks for: instance, tasks, predicted, calibrated, measured, error. */
export function formatAccuracyTable(rows: readonly AccuracyRow[]): string {
  const table = [
    ["instance", "tasks", "predicted", "calibrated", "measured", "error", "dispatch gap"],
    ...rows.map((r) => [
      r.instance,
      String(r.tasks),
      `${r.predictedSeconds.toFixed(2)} s`,
      `${r.calibratedSeconds.toFixed(2)} s`,
      `${r.measuredSeconds.toFixed(2)} s`,
      `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(1)}%`,
      `${(r.dispatchGapSeconds * 1000).toFixed(1)} ms`,
    ]),
  ];
  return formatTable(table);
}

function compile(file: string, yaml: string | undefined): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(yaml ?? "");
  if (!compiled) throw new Error(`${file}: ${JSON.stringify(diagnostics[0])}`);
  return compiled;
}

/** One held-out comparison: calibrated from a run at one concurrency, checked against a run at another. */
export interface HeldOutRow {
  instance: string;
  tasks: number;
  /** Slots of the run the simulator was calibrated from. */
  calibratedSlots: number;
  /** Slots of the run it predicts, which did not calibrate it. */
  slots: number;
  /** Median over simulated runs drawn from the fitted spread. */
  predictedSeconds: number;
  p95Seconds: number;
  measuredSeconds: number;
  /** `(predicted − measured) / measured`. */
  error: number;
  /** Mean dispatch gap fitted from the calibrating run. */
  dispatchGapSeconds: number;
  /** Serialized start fitted from the calibrating run. */
  serialStartSeconds: number;
}

/**
 * Held-out check: runs the instance at `calibrateSlots`, calibrates the
 * simulator from that record alone, predicts every `predictSlots`
 * configuration, then runs each and compares. The prediction never sees the
 * run it is compared with.
 */
export async function measureHeldOut(
  instance: ScaledInstance,
  options: { calibrateSlots: number; predictSlots: readonly number[]; projectDir: string },
): Promise<HeldOutRow[]> {
  const calibrating = await runOnce(instance, options.calibrateSlots, options.projectDir);
  const recordText = readFileSync(join(calibrating.runDir, "run.json"), "utf8");
  const rows: HeldOutRow[] = [];
  for (const slots of options.predictSlots) {
    // The embedded runtime model takes the dispatch gap and start overhead from the record itself.
    const prediction = predictMakespan(instance.yaml, slots, undefined, recordText);
    const measured = (await runOnce(instance, slots, options.projectDir)).record.durationMs! / 1000;
    rows.push({
      instance: instance.name,
      tasks: instance.tasks,
      calibratedSlots: options.calibrateSlots,
      slots,
      predictedSeconds: prediction.seconds,
      p95Seconds: prediction.p95Seconds,
      measuredSeconds: measured,
      error: (prediction.seconds - measured) / measured,
      dispatchGapSeconds: prediction.calibration?.dispatchGapMeanSeconds ?? 0,
      serialStartSeconds: prediction.calibration?.startOverhead?.serialSeconds ?? 0,
    });
  }
  return rows;
}

/** The held-out error table: instance, tasks, calibrated at, predicted for, predicted, measured, error. */
export function formatHeldOutTable(rows: readonly HeldOutRow[]): string {
  return formatTable([
    [
      "instance",
      "tasks",
      "calibrated at",
      "predicted for",
      "p50",
      "p95",
      "measured",
      "error",
      "dispatch gap",
      "serial start",
    ],
    ...rows.map((r) => [
      r.instance,
      String(r.tasks),
      `${r.calibratedSlots} slots`,
      `${r.slots} slots`,
      `${r.predictedSeconds.toFixed(2)} s`,
      `${r.p95Seconds.toFixed(2)} s`,
      `${r.measuredSeconds.toFixed(2)} s`,
      `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(1)}%`,
      `${(r.dispatchGapSeconds * 1000).toFixed(1)} ms`,
      `${(r.serialStartSeconds * 1000).toFixed(1)} ms`,
    ]),
  ]);
}

async function runOnce(instance: ScaledInstance, slots: number, projectDir: string) {
  const result = await runWorkflow(instance.compiled, {
    specFile: `${instance.name}.yaml`,
    projectDir,
    input: {},
    concurrency: slots,
  });
  if (result.record.status !== "SUCCEEDED")
    throw new Error(
      `${instance.name} at ${slots} slots: run ${result.record.status}: ${JSON.stringify(result.record.error)}`,
    );
  return result;
}

function formatTable(table: string[][]): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table
    .map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
    .join("\n");
}
