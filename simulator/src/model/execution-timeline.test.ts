import { buildIr, validateSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { buildSimModel } from "../engine/sim-model.ts";
import { simulate } from "../engine/simulate.ts";
import { prepareSimulation } from "../prepare.ts";
import { formatExplain } from "../report/format-explain.ts";
import { specYaml } from "../testing/fixtures.ts";
import { type ExecutionTimeline, fitOrchestration, fitTerm } from "./execution-timeline.ts";

const T0 = Date.UTC(2025, 0, 1);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

// a → b → c, 1 s each on the agent; 0.3 s from a dependency's end to the next
// task being scheduled, 0.1 s from scheduled to the agent's start, 0.05 s to the answer.
const SPEC = specYaml([
  { name: "a", durationSeconds: 5 },
  { name: "b", durationSeconds: 5, depends: ["a"] },
  { name: "c", durationSeconds: 5, depends: ["b"] },
]);
const step = (name: string, scheduled: number) => ({
  name,
  site: "edge",
  status: "succeeded",
  scheduledAt: at(scheduled),
  agentStartedAt: at(scheduled + 0.1),
  agentFinishedAt: at(scheduled + 1.1),
  answeredAt: at(scheduled + 1.15),
});
const TIMELINE: ExecutionTimeline = {
  source: "arn:aws:states:us-east-1:000000000000:execution:m:e",
  startedAt: at(0),
  finishedAt: at(4.5),
  steps: [step("a", 0.3), step("b", 1.7), step("c", 3.1)],
};
const TOPOLOGY = "runtime: localstack\nsites:\n  edge:\n    type: edge\n    devices: [{ slots: 1 }]\n";

describe("calibration from a deployed execution", () => {
  it("Given an execution's history and provenance records, Then the transition, queue + agent and answer terms are fitted", () => {
    const ir = buildIr(validateSpec(SPEC).spec!);
    const fit = fitOrchestration(TIMELINE, ir);
    expect(fit.stateTransition?.meanSeconds).toBeCloseTo(0.3, 6);
    expect(fit.stateTransition?.samples).toBe(3);
    // Simulated as its mean: the engine's spread is shared by a layer's steps.
    expect(fit.stateTransition?.latency).toEqual({
      kind: "constant",
      seconds: fit.stateTransition!.meanSeconds,
    });
    expect(fit.queueAgent?.meanSeconds).toBeCloseTo(0.1, 6);
    expect(fit.answer?.meanSeconds).toBeCloseTo(0.05, 6);
  });

  it("Given a step scheduled while every slot was busy, Then its wait for a slot is not taken as queue latency", () => {
    const ir = buildIr(
      validateSpec(
        specYaml([
          { name: "a", durationSeconds: 1 },
          { name: "b", durationSeconds: 1 },
        ]),
      ).spec!,
    );
    const fit = fitOrchestration(
      {
        source: "x",
        startedAt: at(0),
        steps: [
          { ...step("a", 0.3) },
          // b scheduled with a, but ran after it on the one slot.
          { ...step("b", 0.3), agentStartedAt: at(1.4), agentFinishedAt: at(2.4), answeredAt: at(2.45) },
        ],
      },
      ir,
    );
    expect(fit.queueAgent?.samples).toBe(1);
    expect(fit.queueAgent?.meanSeconds).toBeCloseTo(0.1, 6);
  });

  it("Given the fitted terms, Then the prediction of the same configuration reproduces the execution, and --explain names them with their spread", () => {
    const { prepared, diagnostics } = prepareSimulation({
      specText: SPEC,
      topologyText: TOPOLOGY,
      execution: TIMELINE,
    });
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(prepared!.topology.orchestrationSources).toEqual({
      stateTransition: "calibration",
      sqsReceive: "calibration",
    });
    // Durations come from the agent's spans, not the hints (5 s).
    expect(prepared!.costs.map((c) => c.source)).toEqual(["calibration", "calibration", "calibration"]);
    const report = simulate(buildSimModel(prepared!.ir, prepared!.topology, prepared!.costs), {
      runs: 1,
      seed: 1,
    });
    // 3 × (0.3 transition + 0.1 queue + 1 step) = 4.2 s; the execution's own end adds its last answer.
    expect(report.makespanSeconds!.p50).toBeGreaterThan(4.0);
    expect(report.makespanSeconds!.p50).toBeLessThan(4.6);
    const text = formatExplain(prepared!, report, TIMELINE.source);
    expect(text).toMatch(/state transition .*300\.0 ms.*n 3.*fitted from arn:aws:states/);
    expect(text).toMatch(/queue \+ agent .*100\.0 ms/);
    expect(text).toMatch(/of which answer .*50\.0 ms/);
  });

  it("Given a topology that sets its own transition, Then the fit does not replace it", () => {
    const { prepared } = prepareSimulation({
      specText: SPEC,
      topologyText: `${TOPOLOGY}orchestration:\n  stateTransition: { ms: 7 }\n`,
      execution: TIMELINE,
    });
    expect(prepared!.topology.orchestration.stateTransition).toEqual({ kind: "constant", seconds: 0.007 });
    expect(prepared!.topology.orchestrationSources.sqsReceive).toBe("calibration");
  });

  it("Given spread samples, Then fitTerm keeps their mean and reports median and p95", () => {
    const term = fitTerm([0.1, 0.1, 0.1, 0.2, 0.5])!;
    expect(term.medianSeconds).toBe(0.1);
    expect(term.p95Seconds).toBe(0.5);
    expect(term.meanSeconds).toBeCloseTo(0.2, 9);
    expect(term.latency.kind).toBe("lognormal");
    expect(fitTerm([])).toBeUndefined();
  });
});
