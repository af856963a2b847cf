/**
 * examples/python-client on LocalStack 4.14: its workflow, with
 * `notify: { sns: { create: true } }`, deployed with the real `ferry deploy`,
 * one edge agent, and `client.py` (boto3, in the venv that
 * test/env/ensure-python-client.sh makes) starting executions through
 * `start_execution` on the stack output `WorkflowStateMachineArn` and
 * receiving the EventBridge rule's message through an SQS queue it
 * subscribes to the topic. LocalStack emits "Step Functions Execution
 * Status Change" events to EventBridge, so the rule delivers what it would
 * on AWS: one SUCCEEDED run with its output, one FAILED run with its error.
 */
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localstackEndpoint, requireLocalStack, TEST_REGION } from "./support/env.ts";
import { REPO_ROOT } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  runSuffix,
  startAgent,
} from "./support/localstack-ferry.ts";

const run = promisify(execFile);
const suffix = runSuffix();
const project = exampleProject(suffix);
const spec = project.spec("python-client");

let python: string;
let deployed: Deployed;
let agent: FerryProcess | undefined;

interface ClientResult {
  code: number;
  result: {
    v: number;
    workflow?: string;
    status: string | null;
    output: unknown;
    error: string | null;
    notified: boolean;
  };
  stderr: string;
}

async function client(input: unknown): Promise<ClientResult> {
  const args = [
    join(REPO_ROOT, "examples", "python-client", "client.py"),
    "--stack",
    deployed.deployment.stackName,
    "--input",
    JSON.stringify(input),
    "--timeout-seconds",
    "120",
  ];
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: localstackEndpoint(),
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_REGION: TEST_REGION,
  };
  let out: { stdout: string; stderr: string; code: number };
  try {
    const done = await run(python, args, { env, timeout: 180_000 });
    out = { ...done, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    out = { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : -1 };
  }
  const lines = out.stdout.trim().split("\n");
  if (lines.length !== 1 || !lines[0]) throw new Error(`client.py printed ${out.stdout}\n${out.stderr}`);
  return { code: out.code, result: JSON.parse(lines[0]), stderr: out.stderr };
}

beforeAll(async () => {
  await requireLocalStack();
  python = execFileSync("bash", [join(REPO_ROOT, "test", "env", "ensure-python-client.sh")], {
    encoding: "utf8",
    timeout: 240_000,
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  deployed = await deploySpec(project.dir, spec);
  agent = await startAgent(project.dir, deployed.agentConfigs.lab!);
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  if (deployed) await destroySpec(project.dir, spec);
}, 300_000);

describe("the Python client on LocalStack", () => {
  it("starts an execution with boto3 and receives its SUCCEEDED notification with the output", async () => {
    const { code, result, stderr } = await client({ mode: "fine" });
    expect(result, stderr).toMatchObject({
      v: 1,
      workflow: `python-client-${suffix}`,
      status: "SUCCEEDED",
      output: { work: { done: true } },
      error: null,
      notified: true,
    });
    expect(code).toBe(0);
  });

  it("receives the FAILED notification of a failing execution, with its error", async () => {
    const { code, result, stderr } = await client({ mode: "please-fail" });
    expect(result, stderr).toMatchObject({ v: 1, status: "FAILED", output: null, notified: true });
    expect(result.error).toEqual(expect.any(String));
    expect(code).toBe(1);
  });
});
