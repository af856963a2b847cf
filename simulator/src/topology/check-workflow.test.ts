import { describe, expect, it } from "vitest";
import { prepareSimulation } from "../prepare.ts";
import { specYaml, topologyYaml } from "../testing/fixtures.ts";

const crossing = specYaml([
  { name: "a", durationSeconds: 1, outputBytes: 1000 },
  { name: "b", site: "cloud", depends: ["a"], durationSeconds: 1 },
]);

function codes(specText: string, topologyText: string) {
  return prepareSimulation({ specText, topologyText }).diagnostics.map((d) => ({
    code: d.code,
    source: d.source,
    line: d.line,
    path: d.path,
  }));
}

describe("checkWorkflowOnTopology", () => {
  it("Given no link for data that crosses sites, Then DEAD_LINK points at the depends entry", () => {
    const topology = topologyYaml({ cloud: true });
    expect(codes(crossing, topology)).toContainEqual({
      code: "DEAD_LINK",
      source: "spec",
      line: 13,
      path: ["steps", 1, "depends", 0],
    });
  });

  it("Given a 0 Mbps link, Then DEAD_LINK points at its bandwidth in the topology", () => {
    const topology = topologyYaml({ cloud: true, link: "{ from: edge, to: cloud, bandwidthMbps: 0 }" });
    expect(codes(crossing, topology)).toContainEqual({
      code: "DEAD_LINK",
      source: "topology",
      line: 11,
      path: ["links", 0, "bandwidthMbps"],
    });
  });

  it("Given an edge site the cloud cannot reach, Then its agents' way to the queues is reported", () => {
    const spec = specYaml([{ name: "a", durationSeconds: 1 }]);
    const diagnostics = prepareSimulation({
      specText: spec,
      topologyText: topologyYaml({ cloud: true }),
    }).diagnostics;
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        code: "DEAD_LINK",
        source: "topology",
        path: ["sites", "edge"],
        message: expect.stringContaining("cannot reach the cloud's queues"),
      }),
    );
  });

  it("Given a site the topology lacks, Then MISSING_TOPOLOGY_SITE points at the spec's site", () => {
    const spec = specYaml([{ name: "a", site: "cloud", durationSeconds: 1 }]);
    expect(codes(spec, topologyYaml())).toEqual([
      { code: "MISSING_TOPOLOGY_SITE", source: "spec", line: 4, path: ["sites", "cloud"] },
    ]);
  });

  it("Given a site typed differently, Then SITE_TYPE_MISMATCH points at the topology", () => {
    const topology = "sites:\n  edge:\n    type: aws\n";
    expect(codes(specYaml([{ name: "a" }]), topology)).toContainEqual({
      code: "SITE_TYPE_MISMATCH",
      source: "topology",
      line: 3,
      path: ["sites", "edge", "type"],
    });
  });

  it("Given a step bigger than every device, Then STEP_DOES_NOT_FIT", () => {
    const spec = specYaml([{ name: "big", durationSeconds: 1, extra: "    resources: { memoryMiB: 8192 }" }]);
    const topology = topologyYaml().replace("speed: 1 }", "speed: 1, memoryMiB: 4096 }");
    expect(codes(spec, topology)).toContainEqual({
      code: "STEP_DOES_NOT_FIT",
      source: "spec",
      line: 11,
      path: ["steps", 0, "resources"],
    });
  });

  it("warns about steps without a duration, once for all of them", () => {
    const diagnostics = prepareSimulation({
      specText: specYaml([{ name: "a" }, { name: "b" }]),
      topologyText: topologyYaml(),
    }).diagnostics;
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: "MISSING_DURATION",
        severity: "warning",
        message: expect.stringContaining('2 step(s) have no duration ("a", "b")'),
      }),
    ]);
  });
});
