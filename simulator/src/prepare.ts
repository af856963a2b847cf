import {
  buildIr,
  parseSpecText,
  validateSpec,
  type WorkflowIr,
  type WorkflowSpec,
} from "@ferry/dsl-compiler";
import { hasSimErrors, locateDiagnostics, type SimDiagnostic, simWarning } from "./diagnostics.ts";
import type { Placement } from "./engine/sim-model.ts";
import {
  type ExecutionTimeline,
  fitOrchestration,
  type OrchestrationFit,
  runRecordFromTimeline,
} from "./model/execution-timeline.ts";
import { calibrationFromRunRecord, parseRunRecord, type RunCalibration } from "./model/run-record.ts";
import { resolveStepCosts, type StepCost } from "./model/step-costs.ts";
import { checkWorkflowOnTopology } from "./topology/check-workflow.ts";
import { type Latency, Z95 } from "./topology/latency.ts";
import { parseTopology } from "./topology/parse-topology.ts";
import type { EdgeSite, Topology } from "./topology/topology.ts";

/** The inputs of a simulation, as text, the way they sit in files. */
export interface SimulationInput {
  specText: string;
  topologyText: string;
  /** A `ferry run` record (`run.json`) to calibrate step durations with. */
  runRecordText?: string;
  /**
   * A deployed execution (history and provenance records) to calibrate
   * with instead of a run record: step durations, start overhead, and the
   * orchestration terms of the topology's runtime.
   */
  execution?: ExecutionTimeline;
  placement?: Placement;
}

/** Everything a simulation needs, parsed and resolved. */
export interface PreparedSimulation {
  spec: WorkflowSpec;
  ir: WorkflowIr;
  topology: Topology;
  /** Aligned with `ir.steps`. */
  costs: StepCost[];
  calibration?: RunCalibration;
  /** The orchestration terms fitted from a calibrating execution. */
  orchestration?: OrchestrationFit;
}

/**
 * Validates and resolves spec, topology and run record. `prepared` is present
 * when all three parse; `diagnostics` then may still hold errors of the
 * workflow on the topology (a dead link, a step no device fits), which stop a
 * plain simulation but not a placement search. Never throws on user input.
 */
export function prepareSimulation(input: SimulationInput): {
  prepared?: PreparedSimulation;
  diagnostics: SimDiagnostic[];
} {
  const validated = validateSpec(input.specText);
  const specDiagnostics: SimDiagnostic[] = validated.diagnostics.map((d) => ({ ...d, source: "spec" }));
  const topology = parseTopology(input.topologyText);
  const record = input.execution
    ? { record: runRecordFromTimeline(input.execution), diagnostics: [] }
    : input.runRecordText === undefined
      ? undefined
      : parseRunRecord(input.runRecordText);
  const diagnostics = [...specDiagnostics, ...topology.diagnostics, ...(record?.diagnostics ?? [])];
  if (!validated.spec || !topology.topology || (record && !record.record) || hasSimErrors(diagnostics))
    return { diagnostics };

  const ir = buildIr(validated.spec);
  const calibrated = record?.record ? calibrationFromRunRecord(record.record, ir) : undefined;
  const { costs, diagnostics: costDiagnostics } = resolveStepCosts(ir, calibrated?.calibration);
  const located = locateDiagnostics(
    [
      ...costDiagnostics,
      ...(calibrated ? neverRanWarnings(ir, costs) : []),
      ...checkWorkflowOnTopology(ir, topology.topology, costs, input.placement),
    ],
    "spec",
    parseSpecText(input.specText).spec!.locate,
  );
  const topologyLocate = parseSpecText(input.topologyText).spec!.locate;
  const recordLocate =
    input.runRecordText === undefined ? undefined : parseSpecText(input.runRecordText).spec!.locate;
  let all = locateDiagnostics(
    [...located, ...extrapolationWarnings(topology.topology, calibrated?.calibration)],
    "topology",
    topologyLocate,
  );
  if (calibrated)
    all = [
      ...all,
      ...(recordLocate
        ? locateDiagnostics(calibrated.diagnostics, "run-record", recordLocate)
        : calibrated.diagnostics),
    ];
  const orchestration = input.execution ? fitOrchestration(input.execution, ir) : undefined;
  const prepared: PreparedSimulation = {
    spec: validated.spec,
    ir,
    topology: withFittedOrchestration(
      withCalibratedOverhead(topology.topology, calibrated?.calibration),
      orchestration,
    ),
    costs,
  };
  if (calibrated) prepared.calibration = calibrated.calibration;
  if (orchestration) prepared.orchestration = orchestration;
  return { prepared, diagnostics: [...diagnostics, ...all] };
}

/**
 * Calibrated durations have the runtime's per-step overhead taken out; edge
 * sites that do not set their own `startOverhead` get the fitted one back.
 * On the embedded runtime, which made the record, sites that do not set
 * their own `dispatchLatency` also get the fitted dependency-to-start gap.
 */
function withCalibratedOverhead(topology: Topology, calibration: RunCalibration | undefined): Topology {
  if (!calibration) return topology;
  const fitted = calibration.startOverhead;
  const gap = topology.runtime === "embedded" ? fittedDispatchLatency(calibration) : undefined;
  const sites = Object.fromEntries(
    Object.entries(topology.sites).map(([name, site]) => {
      if (site.type !== "edge") return [name, site];
      const next: EdgeSite = { ...site, sources: { ...site.sources } };
      if (fitted && site.sources.startOverhead !== "topology") {
        next.startOverhead = { fixedSeconds: fitted.fixedSeconds, serialSeconds: fitted.serialSeconds };
        next.sources.startOverhead = "calibration";
      }
      if (gap && site.sources.dispatchLatency !== "topology") {
        next.dispatchLatency = gap;
        next.sources.dispatchLatency = "calibration";
      }
      return [name, next];
    }),
  );
  return { ...topology, sites };
}

/**
 * An execution's fitted transition and queue-and-agent terms replace the
 * runtime's defaults (never what the topology sets itself).
 */
function withFittedOrchestration(topology: Topology, fit: OrchestrationFit | undefined): Topology {
  if (!fit) return topology;
  const orchestration = { ...topology.orchestration };
  const sources = { ...topology.orchestrationSources };
  if (fit.stateTransition && sources.stateTransition !== "topology") {
    orchestration.stateTransition = fit.stateTransition.latency;
    sources.stateTransition = "calibration";
  }
  if (fit.queueAgent && sources.sqsReceive !== "topology") {
    orchestration.sqsReceive = fit.queueAgent.latency;
    sources.sqsReceive = "calibration";
  }
  return { ...topology, orchestration, orchestrationSources: sources };
}

/**
 * The record's dependency-to-start gaps as a log-normal with their spread
 * (median to p95) and their mean: a chain of steps adds up the mean, so the
 * mean is kept and the median follows from it.
 */
export function fittedDispatchLatency(calibration: RunCalibration): Latency | undefined {
  const {
    dispatchGapSeconds: median,
    dispatchGapMeanSeconds: mean,
    dispatchGapP95Seconds: p95,
  } = calibration;
  if (median === undefined || mean === undefined) return undefined;
  if (p95 === undefined || !(median > 0) || p95 <= median) return { kind: "constant", seconds: mean };
  const sigma = Math.min(Math.log(p95 / median) / Z95, 1.5);
  return { kind: "lognormal", medianSeconds: mean / Math.exp((sigma * sigma) / 2), sigma };
}

/** Says when a calibrated prediction includes steps the calibrating run never measured. */
function neverRanWarnings(ir: WorkflowIr, costs: readonly StepCost[]): SimDiagnostic[] {
  const unmeasured = ir.steps.filter((_, i) => costs[i]!.source !== "calibration");
  if (unmeasured.length === 0) return [];
  const names =
    unmeasured
      .slice(0, 3)
      .map((s) => `"${s.name}"`)
      .join(", ") + (unmeasured.length > 3 ? ` and ${unmeasured.length - 3} more` : "");
  return [
    simWarning(
      "spec",
      "UNCALIBRATED_STEPS",
      ["steps", unmeasured[0]!.specIndex],
      `${unmeasured.length} of ${ir.steps.length} step(s) did not run to success in the calibrating run (${names}); their durations come from hints, so the prediction extrapolates`,
      "calibrate with a run in which every step succeeded",
    ),
  ];
}

/** Says when a calibrated prediction runs more steps at once than the record ever measured. */
function extrapolationWarnings(topology: Topology, calibration: RunCalibration | undefined): SimDiagnostic[] {
  const peak = calibration?.peakRunning;
  if (!peak) return [];
  return Object.entries(topology.sites).flatMap(([name, site]): SimDiagnostic[] => {
    if (site.type !== "edge") return [];
    const slots = site.devices.reduce((n, d) => n + d.slots, 0);
    if (slots <= peak) return [];
    return [
      simWarning(
        "topology",
        "EXTRAPOLATED_SLOTS",
        ["sites", name, "devices"],
        `site "${name}" has ${slots} slots but the calibrating run had at most ${peak} steps running at once; the fitted start overhead is extrapolated`,
        `calibrate with a run at ${slots} slots (ferry run --concurrency ${slots}) to check the prediction`,
      ),
    ];
  });
}
