import { describe, expect, it } from "vitest";
import { buildSimModel } from "../engine/sim-model.ts";
import { simulate } from "../engine/simulate.ts";
import { prepareSimulation } from "../prepare.ts";
import { formatExplain } from "../report/format-explain.ts";
import { specYaml } from "../testing/fixtures.ts";
import { parseTopology } from "./parse-topology.ts";

const T0 = Date.UTC(2025, 0, 1);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const topology = (runtime: string, extra = "") =>
  `runtime: ${runtime}\nsites:\n  edge:\n    type: edge\n    devices: [{ slots: 2 }]\n${extra}`;

// a → b → c, 0.1 s each, 30 ms between a step's dependency finishing and its start.
const SPEC = specYaml([
  { name: "a", durationSeconds: 0.1 },
  { name: "b", durationSeconds: 0.1, depends: ["a"] },
  { name: "c", durationSeconds: 0.1, depends: ["b"] },
]);
const RECORD = JSON.stringify({
  startedAt: at(0),
  finishedAt: at(0.4),
  steps: [
    { name: "a", site: "edge", status: "SUCCEEDED", startedAt: at(0.03), finishedAt: at(0.13) },
    { name: "b", site: "edge", status: "SUCCEEDED", startedAt: at(0.16), finishedAt: at(0.26) },
    { name: "c", site: "edge", status: "SUCCEEDED", startedAt: at(0.29), finishedAt: at(0.39) },
  ],
});

describe("runtime models", () => {
  it("Given runtime: embedded, Then there are no state transitions or queue receives, and edge sites get the in-process dispatch and process start", () => {
    const t = parseTopology(topology("embedded")).topology!;
    expect(t.runtime).toBe("embedded");
    expect(t.orchestration.stateTransition).toEqual({ kind: "constant", seconds: 0 });
    expect(t.orchestration.sqsReceive).toEqual({ kind: "constant", seconds: 0 });
    const site = t.sites.edge!;
    if (site.type !== "edge") throw new Error("edge site expected");
    expect(site.dispatchLatency?.kind).toBe("lognormal");
    expect(site.startOverhead?.serialSeconds).toBeGreaterThan(0);
    expect(site.sources).toEqual({ dispatchLatency: "runtime", startOverhead: "runtime" });
  });

  it("Given no runtime, Then the aws model applies, with its Step Functions and SQS latencies", () => {
    const t = parseTopology("sites:\n  edge:\n    type: edge\n    devices: [{ slots: 2 }]\n").topology!;
    expect(t.runtime).toBe("aws");
    expect(t.orchestration.stateTransition).toEqual({ kind: "constant", seconds: 0.17 });
    const site = t.sites.edge!;
    expect(site.type === "edge" ? site.dispatchLatency : "not an edge site").toBeUndefined();
  });

  it("Given a runtime Ferry does not have, Then the topology is refused at its place", () => {
    const { diagnostics } = parseTopology(topology("kubernetes"));
    expect(diagnostics[0]).toMatchObject({ severity: "error", path: ["runtime"], line: 1 });
  });

  it("Given a topology's own dispatchLatency, Then it wins over the runtime's and over calibration", () => {
    const { prepared } = prepareSimulation({
      specText: SPEC,
      topologyText: topology("embedded", "    dispatchLatency: { ms: 5 }\n"),
      runRecordText: RECORD,
    });
    const site = prepared!.topology.sites.edge!;
    expect(site.type === "edge" && site.dispatchLatency).toEqual({ kind: "constant", seconds: 0.005 });
    expect(site.type === "edge" && site.sources.dispatchLatency).toBe("topology");
  });

  it("Given a ferry run record on the embedded runtime, Then the dispatch latency is fitted from its gaps and a chain adds their mean", () => {
    const { prepared } = prepareSimulation({
      specText: SPEC,
      topologyText: topology("embedded"),
      runRecordText: RECORD,
    });
    const site = prepared!.topology.sites.edge!;
    expect(site.type === "edge" && site.sources.dispatchLatency).toBe("calibration");
    const report = simulate(buildSimModel(prepared!.ir, prepared!.topology, prepared!.costs), { runs: 1 });
    // Three 30 ms gaps and three 0.1 s steps.
    expect(report.makespanSeconds!.p50).toBeCloseTo(0.39, 2);
    expect(report.cost.total).toBe(0);
    const explain = formatExplain(prepared!, report, "run.json");
    expect(explain).toContain("runtime model  embedded");
    expect(explain).toMatch(
      /dispatch latency\s+edge\s+30\.0 ms \(mean 30\.0 ms over 3 steps\)\s+fitted from run\.json/,
    );
  });

  it("Given the same record on the aws runtime, Then the gaps of ferry run are not taken for Step Functions + SQS", () => {
    const { prepared } = prepareSimulation({
      specText: SPEC,
      topologyText: topology("aws"),
      runRecordText: RECORD,
    });
    const site = prepared!.topology.sites.edge!;
    expect(site.type === "edge" && site.dispatchLatency).toBeUndefined();
  });

  it("Given a record in which a step never ran, Then the prediction says it extrapolates", () => {
    const partial = JSON.stringify({ ...JSON.parse(RECORD), steps: JSON.parse(RECORD).steps.slice(0, 2) });
    const { diagnostics } = prepareSimulation({
      specText: SPEC,
      topologyText: topology("embedded"),
      runRecordText: partial,
    });
    const warning = diagnostics.find((d) => d.code === "UNCALIBRATED_STEPS");
    expect(warning?.message).toContain('1 of 3 step(s) did not run to success in the calibrating run ("c")');
    expect(warning?.line).toBeGreaterThan(0);
  });
});
