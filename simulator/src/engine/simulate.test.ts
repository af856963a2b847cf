import { describe, expect, it } from "vitest";
import { INSTANT_ORCHESTRATION, modelForTest, specYaml, topologyYaml } from "../testing/fixtures.ts";
import { runSeed } from "./prng.ts";
import { simulateRun } from "./run.ts";
import { percentile, simulate } from "./simulate.ts";

const CLOUD_SITES = "  cloud: { type: aws, region: us-east-1 }\n";

function cloudTopology(cloud: string): string {
  return `sites:\n  cloud:\n    type: aws\n${cloud}${INSTANT_ORCHESTRATION}`;
}

function functionSteps(names: string[], durationSeconds: number, chain: boolean): string {
  const steps = names
    .map(
      (name, i) =>
        `  - name: ${name}\n    site: cloud\n    depends: [${chain && i > 0 ? names[i - 1] : ""}]\n    function: { handler: "f.ts#handler", memoryMiB: 1024 }\n    hints: { durationSeconds: ${durationSeconds} }`,
    )
    .join("\n");
  return `name: test\nsites:\n${CLOUD_SITES}steps:\n${steps}\n`;
}

describe("simulate — aggregation and determinism", () => {
  const stochastic = topologyYaml({ devices: 2, slots: 2 })
    .replace("speed: 1 }", "speed: 1, failure: { mtbfSeconds: 40, mttrSeconds: 5 } }")
    .replace("sqsReceive: { ms: 0 }", "sqsReceive: { minMs: 10, maxMs: 100 }");
  const spec = specYaml(
    ["a", "b", "c", "d", "e"].map((name, i) => ({
      name,
      durationSeconds: 10 + i,
      depends: i > 1 ? ["a", "b"] : [],
      extra: "    retry: { maxAttempts: 10, intervalSeconds: 1 }\n    heartbeatSeconds: 5",
    })),
  );

  it("Given the same seed, Then the report is identical; another seed gives another one", () => {
    const model = modelForTest(spec, stochastic);
    const first = simulate(model, { runs: 40, seed: 9 });
    expect(simulate(model, { runs: 40, seed: 9 })).toEqual(first);
    expect(simulate(model, { runs: 40, seed: 10 }).makespanSeconds).not.toEqual(first.makespanSeconds);
  });

  it("Given failing devices, Then runs retry and p50 ≤ p95 ≤ max", () => {
    const report = simulate(modelForTest(spec, stochastic), { runs: 60, seed: 1 });
    expect(report.retries).toBeGreaterThan(0);
    const m = report.makespanSeconds!;
    expect(m.min).toBeLessThanOrEqual(m.p50);
    expect(m.p50).toBeLessThanOrEqual(m.p95);
    expect(m.p95).toBeLessThanOrEqual(m.max);
    expect(report.outcomes.succeeded + report.outcomes.failed + report.outcomes.blocked).toBe(60);
  });

  it("Given a trace request, Then the median run is re-run with its attempts recorded", () => {
    const report = simulate(modelForTest(spec, stochastic), { runs: 20, seed: 1, trace: true });
    expect(report.trace!.filter((t) => t.outcome === "succeeded")).toHaveLength(5);
    const median = simulateRun(modelForTest(spec, stochastic), runSeed(1, report.medianRun));
    expect(Math.max(...report.trace!.map((t) => t.endSeconds))).toBe(median.makespanSeconds);
    expect(median.makespanSeconds).toBeCloseTo(report.makespanSeconds!.p50, 0);
  });

  it("reports utilisation as busy slot-seconds over capacity × makespan", () => {
    const report = simulate(
      modelForTest(
        specYaml([
          { name: "a", durationSeconds: 10 },
          { name: "b", durationSeconds: 10 },
        ]),
        topologyYaml({ slots: 4 }),
      ),
      { runs: 1 },
    );
    expect(report.sites[0]).toMatchObject({
      name: "edge",
      slots: 4,
      busySeconds: 20,
      utilisation: 0.5,
      peakConcurrency: 2,
    });
  });

  it("percentile is nearest-rank", () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(values, 0.5)).toBe(5);
    expect(percentile(values, 0.95)).toBe(10);
    expect(percentile([7], 0.95)).toBe(7);
  });
});

describe("cloud service models", () => {
  it("Given a chain of one function, Then the first invocation is cold and the next warm", () => {
    const model = modelForTest(
      functionSteps(["f1"], 1, false).replace("- name: f1", "- name: f1").concat(""),
      cloudTopology("    lambda: { coldStart: { ms: 150 } }\n"),
    );
    expect(simulateRun(model, 1).makespanSeconds).toBeCloseTo(1.15, 9);
    const chain = modelForTest(
      functionSteps(["f1", "f2"], 1, true),
      cloudTopology("    lambda: { coldStart: { ms: 150 } }\n"),
    );
    // Each step is its own function, so each pays one cold start.
    expect(simulateRun(chain, 1).lambdaColdStarts).toBe(2);
  });

  it("Given Lambda concurrency 1, Then independent functions run one at a time", () => {
    const model = modelForTest(
      functionSteps(["f1", "f2", "f3"], 2, false),
      cloudTopology("    lambda: { concurrency: 1, coldStart: { ms: 0 } }\n"),
    );
    const run = simulateRun(model, 1);
    expect(run.makespanSeconds).toBe(6);
    // 3 invocations × 2 s × 1 GB.
    expect(run.cost.lambda).toBeCloseTo(6 * 0.0000166667 + 3 * 0.0000002, 12);
  });

  it("Given Fargate, Then a new worker pays the start latency and an idle one is reused", () => {
    const spec = specYaml(
      [
        { name: "a", site: "cloud", durationSeconds: 10 },
        { name: "b", site: "cloud", depends: ["a"], durationSeconds: 10 },
      ],
      CLOUD_SITES,
    );
    const run = simulateRun(modelForTest(spec, cloudTopology("    fargate: { start: { ms: 40000 } }\n")), 1);
    expect(run.makespanSeconds).toBe(60);
    expect(run.fargateLaunches).toBe(1);
  });

  it("Given a Lambda step longer than 900 s, Then it times out and the check warns", () => {
    const model = modelForTest(functionSteps(["long"], 1000, false), cloudTopology(""));
    const run = simulateRun(model, 1);
    expect(run).toMatchObject({
      status: "failed",
      failedStep: "long",
      failedReason: "timed-out",
      makespanSeconds: 900,
    });
  });
});
