import { describe, expect, it } from "vitest";
import { modelForTest, specYaml, topologyYaml } from "../testing/fixtures.ts";
import { simulateRun } from "./run.ts";

describe("simulateRun — analytic cases", () => {
  it("Given a chain, When simulated, Then the makespan is the sum of its durations", () => {
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 10 },
        { name: "b", depends: ["a"], durationSeconds: 20 },
        { name: "c", depends: ["b"], durationSeconds: 30 },
      ]),
      topologyYaml({ slots: 4 }),
    );
    const run = simulateRun(model, 1);
    expect(run.status).toBe("succeeded");
    expect(run.makespanSeconds).toBe(60);
  });

  it("Given a fork-join on enough slots, Then the makespan is head + longest branch + tail", () => {
    const branches = [5, 9, 7, 3].map((d, i) => ({ name: `b${i}`, depends: ["head"], durationSeconds: d }));
    const model = modelForTest(
      specYaml([
        { name: "head", durationSeconds: 2 },
        ...branches,
        { name: "tail", depends: branches.map((b) => b.name), durationSeconds: 4 },
      ]),
      topologyYaml({ devices: 2, slots: 2 }),
    );
    expect(simulateRun(model, 1).makespanSeconds).toBe(2 + 9 + 4);
  });

  it("Given one slot, Then independent steps run one after another", () => {
    const steps = [3, 4, 5, 6].map((d, i) => ({ name: `s${i}`, durationSeconds: d }));
    const model = modelForTest(specYaml(steps), topologyYaml({ slots: 1 }));
    const run = simulateRun(model, 1, { trace: true });
    expect(run.makespanSeconds).toBe(18);
    expect(run.sitePeakConcurrency[0]).toBe(1);
    const starts = run.trace!.map((t) => t.startSeconds).sort((a, b) => a - b);
    expect(starts).toEqual([0, 3, 7, 12]);
  });

  it("Given a device at speed 2, Then steps take half their hinted time", () => {
    const model = modelForTest(specYaml([{ name: "a", durationSeconds: 10 }]), topologyYaml({ speed: 2 }));
    expect(simulateRun(model, 1).makespanSeconds).toBe(5);
  });

  it("Given a dependency on another site, Then its output crosses the link: latency + bytes / bandwidth", () => {
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 1, outputBytes: 2_000_000 },
        { name: "b", depends: ["a"], site: "cloud", durationSeconds: 1 },
      ]),
      topologyYaml({ cloud: true, link: "{ from: edge, to: cloud, bandwidthMbps: 8, latencyMs: 50 }" }),
    );
    const run = simulateRun(model, 1);
    // The edge agent receives a's message over the 50 ms uplink; 8 Mbps = 1 MB/s, so 2 MB take 2 s plus 50 ms.
    expect(run.makespanSeconds).toBeCloseTo(0.05 + 1 + (2 + 0.05) + 1, 9);
    expect(run.linkBytes.reduce((a, b) => a + b, 0)).toBe(2_000_000);
  });

  it("Given two transfers on one link at once, Then they share its bandwidth", () => {
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 1, outputBytes: 1_000_000 },
        { name: "b", durationSeconds: 1, outputBytes: 1_000_000 },
        { name: "c", depends: ["a", "b"], site: "cloud", durationSeconds: 1 },
      ]),
      topologyYaml({ slots: 2, cloud: true, link: "{ from: edge, to: cloud, bandwidthMbps: 8 }" }),
    );
    expect(simulateRun(model, 1).makespanSeconds).toBeCloseTo(1 + 2 + 1, 9);
  });

  it("Given constant orchestration latency, Then every step pays one transition and one SQS receive", () => {
    const topology = topologyYaml({ slots: 4 })
      .replace("stateTransition: { ms: 0 }", "stateTransition: { ms: 170 }")
      .replace("sqsReceive: { ms: 0 }", "sqsReceive: { ms: 30 }");
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 1 },
        { name: "b", depends: ["a"], durationSeconds: 1 },
      ]),
      topology,
    );
    expect(simulateRun(model, 1).makespanSeconds).toBeCloseTo(2 * (0.17 + 0.03) + 2, 9);
  });

  it("Given a step longer than its timeout with retries, Then every attempt times out and the run fails", () => {
    const model = modelForTest(
      specYaml([
        {
          name: "slow",
          durationSeconds: 100,
          extra: "    timeoutSeconds: 10\n    retry: { maxAttempts: 3, intervalSeconds: 2, backoffRate: 2 }",
        },
      ]),
      topologyYaml(),
    );
    const run = simulateRun(model, 1);
    expect(run.status).toBe("failed");
    expect(run.failedStep).toBe("slow");
    expect(run.attempts).toBe(3);
    // Attempts end at 10, 10+2+10 = 22, 22+4+10 = 36.
    expect(run.makespanSeconds).toBe(36);
  });

  it("Given a foreach of 6 items with maxConcurrency 2, Then three rounds run", () => {
    const model = modelForTest(
      specYaml([
        {
          name: "fan",
          durationSeconds: 5,
          extra: '    foreach: { items: "input.files", maxConcurrency: 2 }',
        },
      ]).replace("durationSeconds: 5", "durationSeconds: 5, foreachItems: 6"),
      topologyYaml({ slots: 8 }),
    );
    const run = simulateRun(model, 1);
    expect(run.makespanSeconds).toBe(15);
    expect(run.attempts).toBe(6);
  });
});
