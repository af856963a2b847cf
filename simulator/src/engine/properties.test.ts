import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prepareSimulation } from "../prepare.ts";
import { modelForTest, specYaml, type TestStep, topologyYaml } from "../testing/fixtures.ts";
import { simulateRun } from "./run.ts";
import { buildSimModel } from "./sim-model.ts";

/** A random DAG: each step depends on a random subset of earlier steps. */
const dagArbitrary = (maxSteps: number) =>
  fc
    .array(
      fc.record({ duration: fc.integer({ min: 1, max: 20 }), parents: fc.array(fc.nat(), { maxLength: 3 }) }),
      { minLength: 1, maxLength: maxSteps },
    )
    .map((nodes) =>
      nodes.map(
        (node, i): TestStep => ({
          name: `s${i}`,
          durationSeconds: node.duration,
          depends: i === 0 ? [] : [...new Set(node.parents.map((p) => `s${p % i}`))],
        }),
      ),
    );

describe("properties of the simulation", () => {
  it("more slots never make the makespan worse", () => {
    fc.assert(
      fc.property(dagArbitrary(12), fc.integer({ min: 1, max: 4 }), (steps, slots) => {
        const spec = specYaml(steps);
        const fewer = simulateRun(modelForTest(spec, topologyYaml({ slots })), 1).makespanSeconds;
        const more = simulateRun(modelForTest(spec, topologyYaml({ slots: slots + 1 })), 1).makespanSeconds;
        expect(more).toBeLessThanOrEqual(fewer + 1e-9);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe("bounds and determinism", () => {
  it("the makespan lies between the critical path and the serial sum", () => {
    fc.assert(
      fc.property(dagArbitrary(12), fc.integer({ min: 1, max: 4 }), (steps, slots) => {
        const model = modelForTest(specYaml(steps), topologyYaml({ slots }));
        const makespan = simulateRun(model, 1).makespanSeconds;
        const finish: number[] = [];
        steps.forEach((s, i) => {
          finish[i] =
            Math.max(0, ...(s.depends ?? []).map((d) => finish[Number(d.slice(1))]!)) + s.durationSeconds!;
        });
        const serial = steps.reduce((sum, s) => sum + s.durationSeconds!, 0);
        expect(makespan).toBeGreaterThanOrEqual(Math.max(...finish) - 1e-9);
        expect(makespan).toBeLessThanOrEqual(serial + 1e-9);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it("a seed fixes the run, even with failures and random latencies", () => {
    const topology = topologyYaml({ devices: 3, slots: 2 })
      .replace("speed: 1 }", "speed: 1, failure: { mtbfSeconds: 30, mttrSeconds: 10 } }")
      .replace("sqsReceive: { ms: 0 }", "sqsReceive: { minMs: 10, maxMs: 100 }");
    fc.assert(
      fc.property(dagArbitrary(10), fc.nat(), (steps, seed) => {
        const spec = specYaml(
          steps.map((s) => ({
            ...s,
            extra: "    retry: { maxAttempts: 10, intervalSeconds: 1 }\n    heartbeatSeconds: 5",
          })),
        );
        const model = modelForTest(spec, topology);
        expect(simulateRun(model, seed, { trace: true })).toEqual(simulateRun(model, seed, { trace: true }));
      }),
      { numRuns: 50, seed: 3 },
    );
  });
});

describe("a dead link never goes unreported", () => {
  const SITES =
    "  edge: { type: edge }\n  field: { type: edge }\n  cloud: { type: aws, region: us-east-1 }\n";
  const topology = (mbps: number) => `sites:
  edge: { type: edge, devices: [{ slots: 2 }] }
  field: { type: edge, devices: [{ slots: 2 }] }
  cloud: { type: aws }
links:
  - { from: edge, to: cloud, bandwidthMbps: 100 }
  - { from: field, to: cloud, bandwidthMbps: 100 }
  - { from: edge, to: field, bandwidthMbps: 100, bidirectional: false }
  - { from: field, to: edge, bandwidthMbps: ${mbps}, bidirectional: false }
`;

  it("Given random placements over two edge sites and a link that may be down, Then the check and every run report it", () => {
    fc.assert(
      fc.property(
        dagArbitrary(8),
        fc.array(fc.constantFrom("edge", "field", "cloud"), { minLength: 8, maxLength: 8 }),
        fc.constantFrom(0, 10),
        (steps, sites, mbps) => {
          const placed = steps.map((s, i) => ({ ...s, site: sites[i]!, outputBytes: 1_000_000 }));
          const { prepared, diagnostics } = prepareSimulation({
            specText: specYaml(placed, SITES),
            topologyText: topology(mbps),
          });
          const run = simulateRun(buildSimModel(prepared!.ir, prepared!.topology, prepared!.costs), 1);
          const crosses = placed.some(
            (s) =>
              s.site === "edge" &&
              (s.depends ?? []).some((d) => placed[Number(d.slice(1))]!.site === "field"),
          );
          const dead = diagnostics.filter((d) => d.code === "DEAD_LINK");
          if (mbps === 0 && crosses) {
            expect(dead).toEqual([
              expect.objectContaining({ source: "topology", path: ["links", 3, "bandwidthMbps"], line: 9 }),
            ]);
            expect(run.status).toBe("blocked");
            expect(run.blocked!.deadLinks).toEqual([{ from: "field", to: "edge" }]);
          } else {
            expect(dead).toEqual([]);
            expect(run.status).toBe("succeeded");
          }
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });

  it("Given an edge site whose uplink is down, Then the check reports it and runs block naming the site", () => {
    const spec = specYaml([{ name: "a", durationSeconds: 1 }], SITES);
    const { prepared, diagnostics } = prepareSimulation({
      specText: spec,
      topologyText: topology(10).replace(
        "{ from: edge, to: cloud, bandwidthMbps: 100 }",
        "{ from: edge, to: cloud, bandwidthMbps: 0 }",
      ),
    });
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: "DEAD_LINK",
        path: ["links", 0, "bandwidthMbps"],
        message: expect.stringContaining("cannot reach the cloud's queues"),
      }),
    ]);
    const run = simulateRun(buildSimModel(prepared!.ir, prepared!.topology, prepared!.costs), 1);
    expect(run).toMatchObject({
      status: "blocked",
      blocked: { unreachableSites: ["edge"], waitingSteps: ["a"] },
    });
  });
});
