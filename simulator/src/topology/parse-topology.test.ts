import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseTopology } from "./parse-topology.ts";

const EXAMPLE = readFileSync(new URL("../../examples/pi-cluster.topology.yaml", import.meta.url), "utf8");

describe("parseTopology", () => {
  it("Given the example, Then devices expand by count and cloud services take their defaults", () => {
    const { topology, diagnostics } = parseTopology(EXAMPLE);
    expect(diagnostics).toEqual([]);
    const lab = topology!.sites.lab!;
    expect(lab.type).toBe("edge");
    if (lab.type !== "edge") return;
    expect(lab.devices.map((d) => d.id)).toEqual(["pi-1", "pi-2", "pi-3"]);
    // availability 0.995 with 900 s repairs: MTBF = 0.995 × 900 / 0.005.
    expect(lab.devices[0]!.failure!.mtbfSeconds).toBeCloseTo(179_100, 6);
    const cloud = topology!.sites.cloud!;
    if (cloud.type !== "aws") throw new Error("cloud is aws");
    expect(cloud.lambda.coldStart).toEqual({ kind: "uniform", minSeconds: 0.12, maxSeconds: 0.15 });
    expect(cloud.fargate).toMatchObject({
      maxTasks: 20,
      start: { kind: "uniform", minSeconds: 30, maxSeconds: 70 },
    });
    expect(topology!.orchestration.stateTransition).toEqual({ kind: "constant", seconds: 0.17 });
    expect(topology!.links.map((l) => `${l.from}>${l.to}:${l.pricePerGB}`)).toEqual([
      "lab>cloud:0",
      "cloud>lab:0.09",
    ]);
  });

  it("Given a bidirectional link, Then it carries traffic both ways", () => {
    const { topology } = parseTopology(
      "sites:\n  a: { type: edge, devices: [{}] }\n  b: { type: edge, devices: [{}] }\nlinks:\n  - { from: a, to: b, bandwidthMbps: 10 }\n",
    );
    expect(topology!.links.map((l) => `${l.from}>${l.to}`)).toEqual(["a>b", "b>a"]);
  });

  it("reports an unknown field at its key, with a suggestion", () => {
    const { diagnostics } = parseTopology(
      "sites:\n  lab:\n    type: edge\n    devices:\n      - { count: 2, slotz: 4 }\n",
    );
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: "UNKNOWN_FIELD",
        source: "topology",
        line: 5,
        col: 21,
        hint: 'did you mean "slots"?',
      }),
    ]);
  });

  it("reports a link to an unknown site with a suggestion", () => {
    const { diagnostics } = parseTopology(
      "sites:\n  lab: { type: edge, devices: [{}] }\n  cloud: { type: aws }\nlinks:\n  - { from: lab, to: clowd, bandwidthMbps: 10 }\n",
    );
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: "UNKNOWN_LINK_SITE",
        path: ["links", 0, "to"],
        line: 5,
        col: 22,
        hint: 'did you mean "cloud"?',
      }),
    ]);
  });

  it("reports a link declared twice", () => {
    const { diagnostics } = parseTopology(
      "sites:\n  a: { type: edge, devices: [{}] }\n  b: { type: aws }\nlinks:\n  - { from: a, to: b, bandwidthMbps: 10 }\n  - { from: b, to: a, bandwidthMbps: 10, bidirectional: false }\n",
    );
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([["DUPLICATE_LINK", 6]]);
  });

  it("reports a latency given two ways, and a failure model given both ways", () => {
    const { diagnostics } = parseTopology(
      "sites:\n  a:\n    type: edge\n    devices: [{ failure: { mtbfSeconds: 10, availability: 0.9 } }]\norchestration:\n  sqsReceive: { ms: 5, medianMs: 3 }\n",
    );
    expect(diagnostics.map((d) => [d.code, d.line, d.message])).toEqual([
      ["INVALID_VALUE", 4, "give exactly one of mtbfSeconds or availability, got a mapping"],
      ["INVALID_VALUE", 6, "give exactly one of ms, minMs+maxMs or medianMs(+p95Ms), got a mapping"],
    ]);
  });

  it("reports an edge site without devices and a negative bandwidth", () => {
    const { diagnostics } = parseTopology(
      "sites:\n  a: { type: edge, devices: [] }\nlinks:\n  - { from: a, to: a, bandwidthMbps: -1 }\n",
    );
    expect(diagnostics.map((d) => d.code)).toEqual(["INVALID_VALUE", "OUT_OF_RANGE"]);
  });

  it("reports YAML syntax errors with positions", () => {
    const { diagnostics } = parseTopology("sites:\n  a: { type: edge\n");
    expect(diagnostics[0]).toMatchObject({ code: "YAML_SYNTAX", source: "topology" });
  });

  it("turns a log-normal median and p95 into sigma", () => {
    const { topology } = parseTopology(
      "sites: {}\norchestration:\n  stateTransition: { medianMs: 170, p95Ms: 400 }\n",
    );
    const latency = topology!.orchestration.stateTransition;
    expect(latency.kind).toBe("lognormal");
    if (latency.kind === "lognormal") expect(latency.sigma).toBeCloseTo(Math.log(400 / 170) / 1.6448536, 6);
  });
});
