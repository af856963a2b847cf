/**
 * Controlling executions on LocalStack with the real `ferry` CLI and a real
 * agent: `ferry start --wait --json` (the v1 execution result, on success and
 * on failure), `ferry stop` on a running execution and on an ended one, and
 * `ferry redrive`. LocalStack 4.14 (community) does not implement
 * RedriveExecution: it answers every call, whatever the execution, with
 * HTTP 501 `InternalFailure`; the test holds Ferry's error for it. On AWS the
 * same failed execution (its transient failure gone) would be redriven from
 * the failed step.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecutionResult } from "@ferry/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localstackEndpoint, requireLocalStack } from "./support/env.ts";
import { eventually, type FerryResult, ferry, tempProject } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";

/**
 * Each step appends its name to `input.log` when it starts; `work` then
 * sleeps `input.sleep` seconds and fails (exit 3) while the file
 * `input.failWhile` exists, else prints `{ step, n }`.
 */
const STEP_SCRIPT = `
const fs = require("node:fs");
const { input } = JSON.parse(fs.readFileSync(0, "utf8"));
const step = process.env.FERRY_STEP;
if (input.log) fs.appendFileSync(input.log, step + "\\n");
setTimeout(() => {
  if (step === "work" && input.failWhile && fs.existsSync(input.failWhile)) {
    console.error("work failed: " + input.failWhile + " exists");
    process.exit(3);
  }
  console.log(JSON.stringify({ step, n: input.n ?? null }));
}, 1000 * (step === "work" ? (input.sleep ?? 0) : 0));
`;

function redriveSpec(name: string): string {
  const step = (stepName: string, extra: Record<string, unknown> = {}) => ({
    name: stepName,
    site: "lab",
    process: { command: ["node", "-e", STEP_SCRIPT] },
    ...extra,
  });
  return JSON.stringify({
    version: "1.1",
    name,
    description: "prepare, then work, which fails while a marker file exists.",
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 300, heartbeatSeconds: 20 },
    steps: [step("prepare"), step("work", { depends: ["prepare"] })],
  });
}

const suffix = runSuffix();
const project = tempProject();
const spec = writeSpec(project, "redrive.json", redriveSpec(`redrive-${suffix}`));
const run = (args: string[]): Promise<FerryResult> => ferry(args, { cwd: project, env: ferryEnv() });
let deployed: Deployed;
let agent: FerryProcess;

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(project, spec);
  agent = await startAgent(project, deployed.agentConfigs.lab!, {
    runtime: "process",
    concurrency: 3,
    graceSeconds: 5,
  });
}, 300_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  await destroySpec(project, spec);
}, 300_000);

/** `ferry start <spec> --wait --json`: the exit code and the one JSON object stdout holds. */
async function startJson(
  input: unknown,
): Promise<{ code: number | null; result: ExecutionResult; stderr: string }> {
  const out = await run([
    "start",
    spec,
    "--wait",
    "--json",
    "--timeout-seconds",
    "120",
    "--input",
    JSON.stringify(input),
  ]);
  const lines = out.stdout.trim().split("\n");
  expect(lines, `${out.stdout}\n${out.stderr}`).toHaveLength(1);
  return { code: out.code, result: JSON.parse(lines[0]!) as ExecutionResult, stderr: out.stderr };
}

let calls = 0;
function file(name: string): string {
  calls += 1;
  return join(project, `${name}-${calls}`);
}

function started(log: string): string[] {
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
}

describe("ferry start --wait --json", () => {
  it("prints the v1 result of a succeeded execution and exits 0", async () => {
    const { code, result, stderr } = await startJson({ n: 3 });
    expect(code, stderr).toBe(0);
    expect(result).toEqual({
      v: 1,
      executionArn: expect.stringMatching(/^arn:aws:states:[^:]+:\d+:execution:/),
      stateMachineArn: deployed.deployment.stateMachineArn,
      name: result.executionArn.split(":").at(-1),
      status: "SUCCEEDED",
      output: { work: { step: "work", n: 3 } },
      error: null,
      cause: null,
      failedSteps: [],
      startDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      stopDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      redriveCount: 0,
    });
    // The step table still goes to stderr.
    expect(stderr).toContain(`execution ${result.executionArn}`);
  });

  it("prints the failed step's error and cause and exits 1 on failure", async () => {
    const marker = file("marker");
    writeFileSync(marker, "");
    const { code, result, stderr } = await startJson({ failWhile: marker });
    expect(code, stderr).toBe(1);
    expect(result.status).toBe("FAILED");
    expect(result.output).toBeNull();
    expect(result.failedSteps).toEqual([
      {
        step: "work",
        state: "failed",
        error: "Ferry.ExitCode",
        cause: expect.stringContaining(`work failed: ${marker} exists`),
        attempts: 1,
      },
    ]);
    expect(result.error).toBe("Ferry.ExitCode");
    expect(result.stopDate).not.toBeNull();
  });
});

describe("ferry stop", () => {
  it("stops a running execution (ABORTED) and refuses it once it has ended", async () => {
    const log = file("log");
    const start = await run(["start", spec, "--input", JSON.stringify({ sleep: 20, log })]);
    expect(start.code, start.stderr).toBe(0);
    const executionArn = start.stdout.trim();
    await eventually(() => (started(log).includes("work") ? true : undefined), "work to start", 60_000);

    const stop = await run([
      "stop",
      executionArn,
      "--error",
      "Test.Stopped",
      "--cause",
      "stopped by the test",
    ]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe("ABORTED\n");

    const status = await run(["status", executionArn, "--json"]);
    expect(JSON.parse(status.stdout).description.status).toBe("ABORTED");

    const again = await run(["stop", executionArn]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(
      new RegExp(
        `^ferry stop: execution ${escapeRegExp(executionArn)} already ended \\(ABORTED at \\d{4}-[^)]+\\); there is nothing to stop: ferry status ${escapeRegExp(executionArn)} shows how it ended; ferry redrive ${escapeRegExp(executionArn)} restarts it from the failed steps\\n$`,
      ),
    );
  });

  it("names an unknown execution", async () => {
    const unknown = `${deployed.deployment.stateMachineArn.replace(":stateMachine:", ":execution:")}:no-such-run`;
    const stop = await run(["stop", unknown]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toBe(
      `ferry stop: execution ${unknown} does not exist (check the region and --endpoint-url)\n`,
    );
  });
});

describe("ferry redrive", () => {
  it("of a transiently failed execution: LocalStack 4.14 does not implement RedriveExecution", async () => {
    const marker = file("marker");
    const log = file("log");
    writeFileSync(marker, "");
    const failed = await startAndWait(project, spec, { input: { failWhile: marker, log } });
    expect(failed.code, failed.stderr).toBe(1);
    expect(started(log)).toEqual(["prepare", "work"]);
    rmSync(marker);

    const redrive = await run([
      "redrive",
      failed.executionArn,
      "--wait",
      "--json",
      "--timeout-seconds",
      "120",
    ]);
    // On AWS: exit 0, one JSON result with status SUCCEEDED and redriveCount 1, and only work run again.
    expect(redrive.code).toBe(1);
    expect(redrive.stdout).toBe("");
    expect(redrive.stderr).toBe(
      `ferry redrive: execution ${failed.executionArn} was not redriven: InternalFailure (HTTP 501): The API for service stepfunctions is either not included in your current license plan or has not yet been emulated by LocalStack; the endpoint ${localstackEndpoint()} does not implement RedriveExecution (LocalStack's community edition does not); start a new execution instead (ferry start <spec|workflow> --input ...), or redrive on AWS\n`,
    );
    expect(started(log)).toEqual(["prepare", "work"]);
    const status = await run(["status", failed.executionArn, "--json"]);
    expect(JSON.parse(status.stdout).description.status).toBe("FAILED");
  });

  it("names an unknown execution before calling RedriveExecution", async () => {
    const unknown = `${deployed.deployment.stateMachineArn.replace(":stateMachine:", ":execution:")}:no-such-run`;
    const redrive = await run(["redrive", unknown]);
    expect(redrive.code).toBe(1);
    expect(redrive.stderr).toBe(
      `ferry redrive: execution ${unknown} does not exist (check the region and --endpoint-url)\n`,
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
