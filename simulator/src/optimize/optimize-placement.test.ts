import { describe, expect, it } from "vitest";
import { prepareForTest, specYaml } from "../testing/fixtures.ts";
import { optimizePlacement } from "./optimize-placement.ts";
import { stepFreedoms } from "./placement-constraints.ts";

const SITES =
  '  edge: { type: edge, labels: { camera: "yes" } }\n  cloud: { type: aws, region: us-east-1 }\n';
const TOPOLOGY = `sites:
  edge:
    type: edge
    devices:
      - { name: pi, count: 1, slots: 1, speed: 0.25, costPerHour: 0 }
  cloud:
    type: aws
    fargate: { start: { ms: 0 } }
links:
  - { from: edge, to: cloud, bandwidthMbps: 80 }
orchestration:
  stateTransition: { ms: 0 }
  sqsReceive: { ms: 0 }
`;

const spec = specYaml(
  [
    {
      name: "capture",
      durationSeconds: 1,
      outputBytes: 10_000_000,
      extra: '    requires: { labels: { camera: "yes" } }',
    },
    { name: "heavy1", depends: ["capture"], durationSeconds: 60, outputBytes: 1000 },
    { name: "heavy2", depends: ["capture"], durationSeconds: 60, outputBytes: 1000 },
    {
      name: "keep",
      depends: ["capture"],
      durationSeconds: 30,
      outputBytes: 1000,
      extra: "    hints: { durationSeconds: 30, keepOnSite: true }",
    },
    { name: "merge", depends: ["heavy1", "heavy2", "keep"], durationSeconds: 1 },
  ].map((s) =>
    s.extra?.includes("hints") ? { ...s, durationSeconds: undefined, outputBytes: undefined } : s,
  ),
  SITES,
);

describe("optimizePlacement", () => {
  it("Given slow edge devices and a fast cloud, Then heavy steps move to the cloud and constrained steps stay", () => {
    const prepared = prepareForTest(spec, TOPOLOGY);
    const result = optimizePlacement(prepared, { objective: "makespan", seed: 1 });
    expect(result.best.makespanSeconds).toBeLessThan(result.current.makespanSeconds);
    expect(result.improvement).toBeGreaterThan(0.5);
    const moved = Object.fromEntries(result.moves.map((m) => [m.step, m.to]));
    expect(moved.heavy1).toBe("cloud");
    expect(moved.heavy2).toBe("cloud");
    expect(moved.capture).toBeUndefined();
    expect(moved.keep).toBeUndefined();
  });

  it("Given the cost objective and free edge devices, Then nothing moves to the paid cloud", () => {
    const result = optimizePlacement(prepareForTest(spec, TOPOLOGY), { objective: "cost", seed: 1 });
    expect(result.moves).toEqual([]);
    expect(result.improvement).toBe(0);
  });

  it("is deterministic for a seed", () => {
    const prepared = prepareForTest(spec, TOPOLOGY);
    expect(optimizePlacement(prepared, { seed: 5 })).toEqual(optimizePlacement(prepared, { seed: 5 }));
  });

  it("honours the evaluation budget", () => {
    expect(optimizePlacement(prepareForTest(spec, TOPOLOGY), { maxEvaluations: 3 }).evaluations).toBe(3);
  });
});

describe("stepFreedoms", () => {
  it("keeps labelled, pinned, kept and HTTP steps on their sites and lets the rest move", () => {
    const withHttp = spec.replace(
      "  - name: merge",
      '  - name: hook\n    site: cloud\n    depends: []\n    http: { method: POST, url: "https://example.com/x" }\n  - name: pinned\n    site: edge\n    depends: []\n    process: { command: ["true"] }\n    hints: { pinned: true }\n  - name: merge',
    );
    const prepared = prepareForTest(withHttp, TOPOLOGY);
    const freedoms = Object.fromEntries(
      stepFreedoms(prepared.spec, prepared.ir, prepared.topology, prepared.costs).map((f) => [f.step, f]),
    );
    expect(freedoms.capture!.allowed).toEqual(["edge"]);
    expect(freedoms.keep).toMatchObject({ allowed: ["edge"], pinnedBy: "hints.keepOnSite" });
    expect(freedoms.pinned).toMatchObject({ allowed: ["edge"], pinnedBy: "hints.pinned" });
    expect(freedoms.hook).toMatchObject({ allowed: ["cloud"], pinnedBy: "http" });
    expect(freedoms.heavy1!.allowed).toEqual(["edge", "cloud"]);
  });

  it("keeps a GPU container off Fargate, as the compiler does", () => {
    const gpu = specYaml([{ name: "train", durationSeconds: 5, extra: "    resources: { gpu: 1 }" }], SITES);
    const topology = TOPOLOGY.replace("costPerHour: 0 }", "costPerHour: 0, gpu: 1 }");
    const prepared = prepareForTest(gpu, topology);
    expect(stepFreedoms(prepared.spec, prepared.ir, prepared.topology, prepared.costs)[0]!.allowed).toEqual([
      "edge",
    ]);
  });
});
