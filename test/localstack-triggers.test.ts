/**
 * Triggers on LocalStack 4.14, deployed with the real `ferry deploy`: a
 * `rate(1 minute)` schedule (an EventBridge rule with a ScheduleExpression,
 * which LocalStack fires, unlike EventBridge Scheduler) and a file drop into
 * the workflow's own job-files bucket (S3 → EventBridge → rule) each start
 * an execution of the root state machine with the templated input.
 * LocalStack names a rule's execution after the `id` of its input and starts
 * none when the templated input lacks one, so the `localstack` target adds
 * the event's id to every templated input; the test checks it is there.
 * `ferry run --watch` fires the same spec's file trigger locally: a file
 * dropped into the watch folder starts a run with the templated input, and
 * Ctrl-C stops the watch cleanly.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, TEST_REGION } from "./support/env.ts";
import { eventually, startFerry, tempProject } from "./support/ferry-cli.ts";
import { type Deployed, deploySpec, destroySpec, runSuffix, writeSpec } from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const project = tempProject();
const spec = writeSpec(
  project,
  "triggered.json",
  JSON.stringify({
    version: "1.1",
    name: `triggered-${suffix}`,
    sites: { lab: { type: "edge" } },
    // No agent runs: the executions wait on their first step and time out, which is all the test needs.
    defaults: { timeoutSeconds: 30 },
    steps: [{ name: "load", site: "lab", process: { command: ["cat"] } }],
    triggers: [
      { name: "tick", schedule: "rate(1 minute)", input: { kind: "tick", time: "$.time" } },
      {
        name: "uploads",
        s3: { prefix: "incoming/", suffix: ".csv" },
        input: { kind: "upload", key: "$.detail.object.key", size: "$.detail.object.size" },
      },
    ],
  }),
);

const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
const s3 = new S3Client({ ...awsClientConfig(), region: TEST_REGION, forcePathStyle: true });
let deployed: Deployed;

/** Every execution of the root machine with its parsed input. */
async function executions(): Promise<Array<{ name: string; input: Record<string, unknown> }>> {
  const listed = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn: deployed.deployment.stateMachineArn, maxResults: 100 }),
  );
  return Promise.all(
    (listed.executions ?? []).map(async (e) => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      return { name: e.name!, input: JSON.parse(described.input ?? "null") as Record<string, unknown> };
    }),
  );
}

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(project, spec);
}, 300_000);

afterAll(async () => {
  sfn.destroy();
  s3.destroy();
  if (deployed) await destroySpec(project, spec);
}, 300_000);

describe("triggers on LocalStack", () => {
  it("says at deploy that LocalStack's executions get the event id in their input", () => {
    expect(deployed.stdout).toMatch(
      /added "id" \(the event's id\) to the templated input of 2 trigger rules/,
    );
  });

  it("starts an execution with the templated input when a matching file lands in the job-files bucket", async () => {
    const put = (Key: string) =>
      s3.send(new PutObjectCommand({ Bucket: deployed.deployment.jobBucket, Key, Body: "a,b\n1,2\n" }));
    await put("incoming/orders.csv");
    await put("incoming/notes.txt");
    await put("elsewhere/orders.csv");
    const upload = await eventually(
      async () => (await executions()).find((e) => e.input.kind === "upload"),
      "an execution started by the file drop",
      60_000,
    );
    expect(upload.input).toEqual({ id: upload.name, kind: "upload", key: "incoming/orders.csv", size: 8 });
    // Give EventBridge time to deliver the other two objects' events: neither matches.
    await new Promise((r) => setTimeout(r, 5000));
    expect((await executions()).filter((e) => e.input.kind === "upload")).toHaveLength(1);
  });

  it("fires the rate(1 minute) schedule rule within 150 seconds, starting an execution", async () => {
    const tick = await eventually(
      async () => (await executions()).find((e) => e.input.kind === "tick"),
      "the schedule rule to start an execution",
      150_000,
    );
    expect(tick.input).toEqual({
      id: tick.name,
      kind: "tick",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  }, 180_000);
});

describe("ferry run --watch", () => {
  it("starts a run with the templated input when a matching file is dropped into the watch folder", async () => {
    const drop = join(project, "drop");
    mkdirSync(join(drop, "incoming"), { recursive: true });
    writeFileSync(join(drop, "incoming", "before.csv"), "already there\n");
    const watch = startFerry(["run", "--watch", spec, "--watch-dir", drop, "--max-runs", "1", "--json"], {
      cwd: project,
    });
    let stderr = "";
    watch.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await eventually(() => (stderr.includes("watching") ? true : undefined), "the watch to start", 30_000);
    writeFileSync(join(drop, "incoming", "notes.txt"), "not a csv\n");
    writeFileSync(join(drop, "incoming", "orders.csv"), "a,b\n1,2\n");
    const timer = setTimeout(() => watch.kill("SIGKILL"), 60_000);
    const result = await watch.output;
    clearTimeout(timer);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { status: string; input: unknown };
    expect(record.status).toBe("SUCCEEDED");
    expect(record.input).toEqual({ kind: "upload", key: "incoming/orders.csv", size: 8 });
    expect(result.stderr).toContain("▶ trigger uploads fired (incoming/orders.csv)");
    expect(result.stderr).not.toContain("before.csv");
  }, 90_000);

  it("stops cleanly on Ctrl-C, exiting 130", async () => {
    const watch = startFerry(["run", "--watch", spec, "--watch-dir", project], { cwd: project });
    let stdout = "";
    watch.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await eventually(
      () => (stdout.includes("trigger tick: rate(1 minute)") ? true : undefined),
      "the watch to start",
      30_000,
    );
    watch.kill("SIGINT");
    const timer = setTimeout(() => watch.kill("SIGKILL"), 30_000);
    const result = await watch.output;
    clearTimeout(timer);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("watch stopped after 0 runs; nothing is left running");
  }, 60_000);
});
