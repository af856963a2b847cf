import { formatFunctionStepEnv } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { resolveLambdaConfig } from "./config.ts";

describe("resolveLambdaConfig", () => {
  it("given the construct's environment, when resolved, then heartbeats beat three times per window", () => {
    expect(
      resolveLambdaConfig({ FERRY_WORKFLOW: "hello", FERRY_STEP: "load", FERRY_HEARTBEAT_SECONDS: "60" }),
    ).toEqual({
      workflow: "hello",
      step: "load",
      heartbeatIntervalMs: 20_000,
      timeoutMarginMs: 3000,
      jobFiles: { inputs: {}, outputs: [] },
      successNudgesMs: [],
      logCapBytes: 1024 * 1024,
    });
  });

  it("given the step's job files, when resolved, then inputs keep their writing site", () => {
    const env = formatFunctionStepEnv({
      FERRY_WORKFLOW: "hello",
      FERRY_STEP: "load",
      FERRY_SITE: "cloud",
      FERRY_JOB_BUCKET: "jobs",
      FERRY_INPUTS: { "raw, 1.csv": "edge" },
      FERRY_OUTPUTS: ["out/report.json"],
    });
    expect(resolveLambdaConfig(env).jobFiles).toEqual({
      site: "cloud",
      bucket: "jobs",
      inputs: { "raw, 1.csv": "edge" },
      outputs: ["out/report.json"],
    });
  });

  it("given job files that are not JSON, when resolved, then the error names the variable", () => {
    expect(() =>
      resolveLambdaConfig({ FERRY_WORKFLOW: "w", FERRY_STEP: "s", FERRY_SITE: "c", FERRY_OUTPUTS: "a,b" }),
    ).toThrow(/FERRY_OUTPUTS must be JSON/);
  });

  it("given no heartbeat, when resolved, then no heartbeat runs", () => {
    expect(resolveLambdaConfig({ FERRY_WORKFLOW: "hello", FERRY_STEP: "load" }).heartbeatIntervalMs).toBe(0);
  });

  it("given a missing step name, when resolved, then the error names the variables and the fix", () => {
    expect(() => resolveLambdaConfig({ FERRY_WORKFLOW: "hello" })).toThrow(
      /FERRY_STEP must be set.*FerryWorkflow construct/,
    );
  });

  it("given a non-numeric heartbeat, when resolved, then the error shows the value", () => {
    expect(() =>
      resolveLambdaConfig({ FERRY_WORKFLOW: "w", FERRY_STEP: "s", FERRY_HEARTBEAT_SECONDS: "soon" }),
    ).toThrow(/got "soon"/);
  });
});
