import type { FittedTerm } from "../model/execution-timeline.ts";
import type { PreparedSimulation } from "../prepare.ts";
import { type Latency, Z95 } from "../topology/latency.ts";
import { RUNTIME_MODELS } from "../topology/service-defaults.ts";
import type { TermSource } from "../topology/topology.ts";
import { table } from "./format-report.ts";
import type { SimulationReport } from "./simulation-report.ts";

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

/** One latency as a person reads it: constant, range, or median and p95. */
export function describeLatency(latency: Latency): string {
  switch (latency.kind) {
    case "constant":
      return ms(latency.seconds);
    case "uniform":
      return `${ms(latency.minSeconds)}–${ms(latency.maxSeconds)}`;
    case "lognormal":
      return `median ${ms(latency.medianSeconds)}, p95 ${ms(latency.medianSeconds * Math.exp(Z95 * latency.sigma))}`;
  }
}

/**
 * What `ferry simulate --explain` prints: the runtime model, each overhead
 * term with where it came from (the topology, the runtime's defaults, or a
 * fit of the calibrating record, with its spread), the makespan's p50 and p95
 * over the runs drawn from that spread, and what the runtime does not model.
 */
export function formatExplain(
  prepared: PreparedSimulation,
  report: SimulationReport,
  recordFile?: string,
): string {
  const { topology, calibration, orchestration } = prepared;
  const spread = (term: FittedTerm | undefined) =>
    term
      ? ` (samples: median ${ms(term.medianSeconds)}, mean ${ms(term.meanSeconds)}, p95 ${ms(term.p95Seconds)}, n ${term.samples})`
      : "";
  const from = (source: TermSource | undefined) =>
    source === "calibration"
      ? `fitted from ${recordFile ?? "the run record"}`
      : source === "topology"
        ? "the topology"
        : `runtime default (${RUNTIME_MODELS[topology.runtime].source})`;
  const rows: string[][] = [
    [
      "state transition",
      "",
      describeLatency(topology.orchestration.stateTransition) +
        (topology.orchestrationSources.stateTransition === "calibration"
          ? spread(orchestration?.stateTransition)
          : ""),
      from(topology.orchestrationSources.stateTransition),
    ],
    [
      topology.orchestrationSources.sqsReceive === "calibration" ? "queue + agent" : "SQS receive",
      "",
      describeLatency(topology.orchestration.sqsReceive) +
        (topology.orchestrationSources.sqsReceive === "calibration" ? spread(orchestration?.queueAgent) : ""),
      from(topology.orchestrationSources.sqsReceive),
    ],
  ];
  if (orchestration?.answer)
    rows.push([
      "  of which answer",
      "",
      `agent end → TaskSucceeded${spread(orchestration.answer)}`,
      "inside state transition",
    ]);
  for (const site of Object.values(topology.sites)) {
    if (site.type !== "edge") {
      rows.push([
        "Lambda cold start",
        site.name,
        describeLatency(site.lambda.coldStart),
        "the topology or AWS default",
      ]);
      rows.push([
        "Fargate task start",
        site.name,
        describeLatency(site.fargate.start),
        "the topology or AWS default",
      ]);
      continue;
    }
    let dispatch = site.dispatchLatency
      ? describeLatency(site.dispatchLatency)
      : "state transition + SQS receive + link latency";
    if (site.sources.dispatchLatency === "calibration" && calibration?.dispatchGapMeanSeconds !== undefined)
      dispatch += ` (mean ${ms(calibration.dispatchGapMeanSeconds)} over ${calibration.dispatchGapSamples ?? 0} steps)`;
    rows.push([
      "dispatch latency",
      site.name,
      dispatch,
      site.dispatchLatency ? from(site.sources.dispatchLatency) : "—",
    ]);
    const start = site.startOverhead;
    let startText = start
      ? `${ms(start.serialSeconds)} serialized + ${ms(start.fixedSeconds)} per step`
      : "none";
    const fit = calibration?.startOverhead;
    if (site.sources.startOverhead === "calibration" && fit)
      startText += ` (spread ${ms(fit.spreadSeconds)} over ${fit.samples} steps)`;
    rows.push(["process start", site.name, startText, from(site.sources.startOverhead)]);
  }
  const lines = [
    `runtime model  ${topology.runtime}`,
    ...table(["term", "site", "value", "from"], rows).map((l) => `  ${l}`),
    "  join round trip, child-machine start: not modelled (every step is one task state)",
  ];
  const m = report.makespanSeconds;
  if (m)
    lines.push(
      `makespan       p50 ${m.p50.toFixed(2)} s, p95 ${m.p95.toFixed(2)} s over ${report.runs} runs drawn from the terms above${report.runs === 1 ? " (one run: no spread)" : ""}`,
    );
  if (calibration?.peakRunning !== undefined)
    lines.push(
      `calibrated at  at most ${calibration.peakRunning} steps running at once; ${calibration.stepsMeasured} steps measured`,
    );
  return `${lines.join("\n")}\n`;
}
