import { buildIr, validateSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { simulateRun } from "../engine/run.ts";
import { prepareSimulation } from "../prepare.ts";
import { modelForTest, specYaml } from "../testing/fixtures.ts";
import type { StepSpan } from "./dispatch-gap.ts";
import { fitStartOverhead, replayStarts } from "./start-overhead.ts";

const T0 = Date.UTC(2025, 0, 1);
const span = (startS: number, endS: number): StepSpan => ({
  site: "edge",
  startMs: T0 + startS * 1000,
  endMs: T0 + endS * 1000,
});

describe("replayStarts", () => {
  it("Given three steps starting together, Then each waits for the starts before it", () => {
    const waits = replayStarts(
      new Map([
        ["a", span(0, 1)],
        ["b", span(0, 1)],
        ["c", span(0, 1)],
      ]),
      0.01,
    );
    expect([waits.get("a"), waits.get("b"), waits.get("c")].map((w) => Number(w!.toFixed(6)))).toEqual([
      0.01, 0.02, 0.03,
    ]);
  });
});

describe("fitStartOverhead", () => {
  it("Given spans made by a 10 ms serialized start and a 5 ms fixed cost, Then the fit recovers both", () => {
    const steps = Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, durationSeconds: 0.2 }));
    const ir = buildIr(validateSpec(specYaml(steps)).spec!);
    // Two bursts of four starts: the k-th start of a burst waits k × 10 ms.
    const spans = new Map(
      steps.map((s, i) => {
        const start = i < 4 ? 0 : 1;
        return [s.name, span(start, start + 0.01 * ((i % 4) + 1) + 0.005 + 0.2)];
      }),
    );
    const fit = fitStartOverhead(ir, spans)!;
    expect(fit.serialSeconds).toBeCloseTo(0.01, 3);
    expect(fit.fixedSeconds).toBeCloseTo(0.005, 3);
    expect(fit.samples).toBe(8);
  });

  it("Given steps without a duration hint, Then there is nothing to fit", () => {
    const ir = buildIr(validateSpec(specYaml([{ name: "a" }, { name: "b" }, { name: "c" }])).spec!);
    expect(fitStartOverhead(ir, new Map([["a", span(0, 1)]]))).toBeUndefined();
  });
});

describe("the simulated start loop", () => {
  it("Given four ready steps and a 50 ms serialized start, Then the last begins 200 ms late", () => {
    const spec = specYaml(Array.from({ length: 4 }, (_, i) => ({ name: `s${i}`, durationSeconds: 1 })));
    const topology = (extra: string) =>
      `sites:\n  edge:\n    type: edge\n    devices: [{ slots: 4 }]\n    dispatchLatency: { ms: 0 }\n${extra}`;
    const plain = simulateRun(modelForTest(spec, topology("")), 1).makespanSeconds;
    const loaded = simulateRun(
      modelForTest(spec, topology("    startOverhead: { serialMs: 50, ms: 10 }\n")),
      1,
    ).makespanSeconds;
    expect(plain).toBeCloseTo(1, 9);
    expect(loaded).toBeCloseTo(1 + 0.2 + 0.01, 9);
  });
});

describe("a calibrated prediction beyond the measured load", () => {
  it("Given a record with two steps at once, When the topology has four slots, Then a warning says it extrapolates", () => {
    const specText = specYaml([
      { name: "a", durationSeconds: 0.1 },
      { name: "b", durationSeconds: 0.1 },
      { name: "c", durationSeconds: 0.1, depends: ["a"] },
    ]);
    const at = (s: number) => new Date(T0 + s * 1000).toISOString();
    const runRecordText = JSON.stringify({
      steps: [
        { name: "a", site: "edge", status: "SUCCEEDED", startedAt: at(0), finishedAt: at(0.12) },
        { name: "b", site: "edge", status: "SUCCEEDED", startedAt: at(0), finishedAt: at(0.13) },
        { name: "c", site: "edge", status: "SUCCEEDED", startedAt: at(0.13), finishedAt: at(0.25) },
      ],
    });
    const topology = (slots: number) =>
      `sites:\n  edge:\n    type: edge\n    devices: [{ slots: ${slots} }]\n  cloud:\n    type: aws\n`;
    const codes = (slots: number) =>
      prepareSimulation({ specText, topologyText: topology(slots), runRecordText }).diagnostics.map(
        (d) => d.code,
      );
    expect(codes(2)).not.toContain("EXTRAPOLATED_SLOTS");
    expect(codes(4)).toContain("EXTRAPOLATED_SLOTS");
  });
});

describe("an overhead the record cannot split", () => {
  it("Given steps that never started together, each 12 ms longer than its work, Then the fit splits the overhead in the middle", () => {
    const steps = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, durationSeconds: 0.2 }));
    const ir = buildIr(validateSpec(specYaml(steps)).spec!);
    // One step a second: no start ever waits for another, so serialized and fixed time look the same.
    const spans = new Map(steps.map((s, i) => [s.name, span(i, i + 0.2 + 0.012)]));
    const fit = fitStartOverhead(ir, spans)!;
    expect(fit.serialSeconds).toBeCloseTo(0.006, 3);
    expect(fit.serialSeconds + fit.fixedSeconds).toBeCloseTo(0.012, 3);
  });
});

describe("a record with a stalled step", () => {
  it("Given bursts made by a 10 ms serialized start and a 5 ms fixed cost, and one step stretched by a 1 s stall, Then the fit stays near both", () => {
    const steps = Array.from({ length: 12 }, (_, i) => ({ name: `s${i}`, durationSeconds: 0.2 }));
    const ir = buildIr(validateSpec(specYaml(steps)).spec!);
    const spans = new Map(
      steps.map((s, i) => {
        const start = Math.floor(i / 4);
        const stall = i === 5 ? 1 : 0;
        return [s.name, span(start, start + 0.01 * ((i % 4) + 1) + 0.005 + 0.2 + stall)];
      }),
    );
    const fit = fitStartOverhead(ir, spans)!;
    // Squared residuals let the stalled step choose: 45 ms serialized.
    expect(Math.abs(fit.serialSeconds - 0.01)).toBeLessThan(0.002);
    // A burst of four waits 2.5 starts on average: its mean overhead is kept (30 ms).
    expect(Math.abs(2.5 * fit.serialSeconds + fit.fixedSeconds - 0.03)).toBeLessThan(0.002);
  });
});
