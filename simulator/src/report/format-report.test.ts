import { describe, expect, it } from "vitest";
import { simulate } from "../engine/simulate.ts";
import { modelForTest, specYaml, topologyYaml } from "../testing/fixtures.ts";
import { formatReport } from "./format-report.ts";
import { formatBytes, formatSeconds, formatUsd } from "./format-units.ts";

describe("formatReport", () => {
  it("prints makespan, critical path, sites, transfers and cost", () => {
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 10, outputBytes: 5_000_000 },
        { name: "b", site: "cloud", depends: ["a"], durationSeconds: 5 },
      ]),
      topologyYaml({ cloud: true, link: "{ from: edge, to: cloud, bandwidthMbps: 40 }" }),
    );
    const text = formatReport(simulate(model, { runs: 5, seed: 3, topologyName: "lab" }));
    expect(text).toContain("Simulated test on lab: 5 runs, seed 3");
    expect(text).toContain("makespan       p50 16.0 s   p95 16.0 s");
    expect(text).toContain("critical path  16.0 s without queueing, 2 steps: a → b");
    expect(text).toMatch(/edge\s+edge\s+1\s+10\.0 s\s+63%\s+1/);
    expect(text).toMatch(/edge → cloud\s+5\.00 MB/);
    expect(text).toContain("cost           $");
  });

  it("names dead links of blocked runs", () => {
    const report = simulate(modelForTest(specYaml([{ name: "a", durationSeconds: 1 }]), topologyYaml()), {
      runs: 1,
    });
    report.outcomes = { succeeded: 0, failed: 0, blocked: 1 };
    report.blocked = {
      runs: 1,
      waitingSteps: ["b"],
      deadLinks: [{ from: "edge", to: "cloud" }],
      unreachableSites: [],
    };
    expect(formatReport(report)).toContain("BLOCKED: no usable link edge → cloud (1 runs)");
  });
});

describe("units", () => {
  it("reads like a person writes", () => {
    expect(formatSeconds(5)).toBe("5.00 s");
    expect(formatSeconds(392)).toBe("6 min 32 s");
    expect(formatSeconds(9270)).toBe("2 h 35 min");
    expect(formatBytes(3_000_000)).toBe("3.00 MB");
    expect(formatUsd(0.00119)).toBe("$0.00119");
    expect(formatUsd(12.5)).toBe("$12.50");
  });
});
