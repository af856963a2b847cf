import {
  buildIr,
  parseSpecText,
  validateSpec,
  type WorkflowIr,
  type WorkflowSpec,
} from "@ferry/dsl-compiler";
import { hasSimErrors, locateDiagnostics, type SimDiagnostic, simWarning } from "./diagnostics.ts";
import type { Placement } from "./engine/sim-model.ts";
import { calibrationFromRunRecord, parseRunRecord, type RunCalibration } from "./model/run-record.ts";
import { resolveStepCosts, type StepCost } from "./model/step-costs.ts";
import { checkWorkflowOnTopology } from "./topology/check-workflow.ts";
import { parseTopology } from "./topology/parse-topology.ts";
import type { Topology } from "./topology/topology.ts";

/** The inputs of a simulation, as text, the way they sit in files. */
export interface SimulationInput {
  specText: string;
  topologyText: string;
  /** A `ferry run` record (`run.json`) to calibrate step durations with. */
  runRecordText?: string;
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
  const record = input.runRecordText === undefined ? undefined : parseRunRecord(input.runRecordText);
  const diagnostics = [...specDiagnostics, ...topology.diagnostics, ...(record?.diagnostics ?? [])];
  if (!validated.spec || !topology.topology || (record && !record.record) || hasSimErrors(diagnostics))
    return { diagnostics };

  const ir = buildIr(validated.spec);
  const calibrated = record?.record ? calibrationFromRunRecord(record.record, ir) : undefined;
  const { costs, diagnostics: costDiagnostics } = resolveStepCosts(ir, calibrated?.calibration);
  const located = locateDiagnostics(
    [...costDiagnostics, ...checkWorkflowOnTopology(ir, topology.topology, costs, input.placement)],
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
  const prepared: PreparedSimulation = {
    spec: validated.spec,
    ir,
    topology: withCalibratedOverhead(topology.topology, calibrated?.calibration),
    costs,
  };
  if (calibrated) prepared.calibration = calibrated.calibration;
  return { prepared, diagnostics: [...diagnostics, ...all] };
}

/**
 * Calibrated durations have the runtime's per-step overhead taken out; edge
 * sites that do not set their own `startOverhead` get the fitted one back.
 */
function withCalibratedOverhead(topology: Topology, calibration: RunCalibration | undefined): Topology {
  const fitted = calibration?.startOverhead;
  if (!fitted) return topology;
  const sites = Object.fromEntries(
    Object.entries(topology.sites).map(([name, site]) => [
      name,
      site.type === "edge" && !site.startOverhead
        ? {
            ...site,
            startOverhead: { fixedSeconds: fitted.fixedSeconds, serialSeconds: fitted.serialSeconds },
          }
        : site,
    ]),
  );
  return { ...topology, sites };
}

/** Says when a calibrated prediction runs more steps at once than the record ever measured. */
function extrapolationWarnings(topology: Topology, calibration: RunCalibration | undefined): SimDiagnostic[] {
  const peak = calibration?.peakRunning;
  if (!peak) return [];
  return Object.entries(topology.sites).flatMap(([name, site]) => {
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
