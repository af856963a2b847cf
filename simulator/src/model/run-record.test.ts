import { buildIr, validateSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { specYaml } from "../testing/fixtures.ts";
import { calibrationFromRunRecord, parseRunRecord } from "./run-record.ts";
import { resolveStepCosts } from "./step-costs.ts";

const ir = buildIr(
  validateSpec(
    specYaml([
      { name: "extract", durationSeconds: 100 },
      { name: "transform", depends: ["extract"], durationSeconds: 100 },
      { name: "load", depends: ["transform"], durationSeconds: 100 },
    ]),
  ).spec!,
);

const RECORD = JSON.stringify(
  {
    id: "r1",
    workflow: "test",
    steps: [
      {
        name: "extract",
        site: "edge",
        status: "succeeded",
        attempts: 1,
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:00:04.000Z",
      },
      {
        name: "transform",
        site: "edge",
        status: "succeeded",
        attempts: [
          { status: "failed", startedAt: "2025-01-01T00:00:04.500Z", finishedAt: "2025-01-01T00:00:05.000Z" },
          {
            status: "succeeded",
            startedAt: "2025-01-01T00:00:06.000Z",
            finishedAt: "2025-01-01T00:00:08.000Z",
          },
        ],
        startedAt: "2025-01-01T00:00:04.500Z",
        finishedAt: "2025-01-01T00:00:08.000Z",
      },
      {
        name: "load",
        site: "edge",
        status: "failed",
        attempts: 3,
        startedAt: "2025-01-01T00:00:08.300Z",
        finishedAt: "2025-01-01T00:00:09.000Z",
      },
      {
        name: "gone",
        site: "edge",
        status: "succeeded",
        startedAt: "2025-01-01T00:00:00.000Z",
        finishedAt: "2025-01-01T00:00:01.000Z",
      },
    ],
  },
  null,
  2,
);

describe("calibration from a ferry run record", () => {
  it("takes each succeeded step's own attempt time, and what the run measured", () => {
    const { record, diagnostics } = parseRunRecord(RECORD);
    expect(diagnostics).toEqual([]);
    const { calibration, diagnostics: warnings } = calibrationFromRunRecord(record!, ir);
    expect([...calibration.durationsSeconds]).toEqual([
      ["extract", 4],
      ["transform", 2],
    ]);
    expect(calibration.measuredMakespanSeconds).toBe(9);
    // transform started 0.5 s after extract finished; load 0.3 s after transform.
    expect(calibration.dispatchGapSeconds).toBeCloseTo(0.4, 9);
    expect(warnings.map((w) => [w.code, w.path])).toEqual([
      ["INCOMPLETE_RUN_STEP", ["steps", 2]],
      ["UNKNOWN_RUN_STEP", ["steps", 3, "name"]],
    ]);
  });

  it("prefers calibration over hints, and hints over the default", () => {
    const { record } = parseRunRecord(RECORD);
    const { calibration } = calibrationFromRunRecord(record!, ir);
    const { costs } = resolveStepCosts(ir, calibration);
    expect(costs.map((c) => [c.durationSeconds, c.source])).toEqual([
      [4, "calibration"],
      [2, "calibration"],
      [100, "hints"],
    ]);
  });

  it("measures the run by its own timestamps when the record has them", () => {
    const withTimes = JSON.stringify({
      ...JSON.parse(RECORD),
      startedAt: "2024-12-31T23:59:59.500Z",
      finishedAt: "2025-01-01T00:00:09.250Z",
    });
    const { calibration } = calibrationFromRunRecord(parseRunRecord(withTimes).record!, ir);
    expect(calibration.measuredMakespanSeconds).toBe(9.75);
  });

  it("reports a record of the wrong shape with positions", () => {
    const { diagnostics } = parseRunRecord('{\n  "steps": [\n    { "name": "x" }\n  ]\n}');
    expect(diagnostics[0]).toMatchObject({
      code: "MISSING_FIELD",
      source: "run-record",
      path: ["steps", 0, "status"],
      line: 3,
    });
  });
});

describe("calibration from the record ferry run writes", () => {
  const spec = specYaml([
    { name: "fetch" },
    {
      name: "flaky",
      depends: ["fetch"],
      extra: "    retry: { maxAttempts: 3, intervalSeconds: 1, backoffRate: 2 }",
    },
    { name: "tiles", depends: ["flaky"], extra: '    foreach: { items: "input.tiles", maxConcurrency: 2 }' },
    { name: "report", depends: ["tiles"] },
  ]);
  const at = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString();
  const step = (name: string, attempts: number, s: number, e: number, extra: object = {}) => ({
    name,
    site: "edge",
    status: "SUCCEEDED",
    attempts,
    startedAt: at(s),
    finishedAt: at(e),
    exitCode: 0,
    logPath: `logs/${name}.attempt-${attempts}.log`,
    ...extra,
  });
  const record = {
    runId: "20250101-000000-abcdef",
    workflow: "test",
    status: "SUCCEEDED",
    startedAt: at(0),
    finishedAt: at(20.5),
    durationMs: 20_500,
    input: { tiles: [1, 2, 3, 4, 5, 6] },
    output: {},
    specFile: "spec.yaml",
    steps: [
      step("fetch", 1, 0, 2),
      // Three attempts of 2 s with waits of 1 s and 2 s between them.
      step("flaky", 3, 2, 11),
      // Six items, two at a time: three waves of 3 s.
      step("tiles", 6, 11, 20),
      step("report", 0, 20.5, 20.5, { reused: true }),
    ],
  };

  it("Given counted attempts, a retried step and a foreach, Then each gets one attempt's time", () => {
    const ir = buildIr(validateSpec(spec).spec!);
    const { record: parsed, diagnostics } = parseRunRecord(JSON.stringify(record));
    expect(diagnostics).toEqual([]);
    const { calibration, diagnostics: warnings } = calibrationFromRunRecord(parsed!, ir);
    expect([...calibration.durationsSeconds]).toEqual([
      ["fetch", 2],
      ["flaky", 2],
      ["tiles", 3],
    ]);
    expect(calibration.measuredMakespanSeconds).toBe(20.5);
    expect(warnings.map((w) => [w.code, w.path])).toEqual([["REUSED_RUN_STEP", ["steps", 3]]]);
  });
});

describe("resolveStepCosts", () => {
  it("warns about a hint that is not a number and falls back", () => {
    const spec = validateSpec(
      specYaml([{ name: "a", extra: '    hints: { durationSeconds: "ten", outputBytes: 5 }' }]),
    ).spec!;
    const { costs, diagnostics } = resolveStepCosts(buildIr(spec));
    expect(costs[0]).toMatchObject({ durationSeconds: 1, outputBytes: 5, source: "default" });
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([
      ["INVALID_HINT", ["steps", 0, "hints", "durationSeconds"]],
      ["MISSING_DURATION", ["steps", 0]],
    ]);
  });
});
