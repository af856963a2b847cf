import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AGENT_STATE_DIR, groupMembers, identityOf, OWNER_LABEL, procStat } from "@ferry/edge-agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerShStep, manifestOf, shStep, type TestStep } from "../../edge-agent/src/testing/fixtures.ts";
import {
  awsClientConfig,
  dockerApi,
  dockerSocket,
  localstackEndpoint,
  requireLocalStack,
  requireTestImage,
  TEST_IMAGE,
  uniqueName,
} from "../support/env.ts";
import { FERRY_BIN } from "../support/ferry-cli.ts";
import { createOneStepMachine } from "../support/localstack.ts";

// Orphans: a real `ferry agent` is SIGKILLed while its step runs (a process
// group, or a container). The step keeps running. The agent restarted on the
// same work folder stops it before serving, and removes the job folder it
// held. A second agent of the same site, on its own work folder, keeps its
// step running throughout: an agent only ever reaps its own predecessor's.

const sqs = new SQSClient(awsClientConfig());
const sfn = new SFNClient(awsClientConfig());
const base = mkdtempSync(join(tmpdir(), "ferry-sec-orphans-"));
const agents: ChildProcess[] = [];
const executions: string[] = [];
const queues: string[] = [];

beforeAll(async () => {
  await requireLocalStack(["sqs", "stepfunctions"]);
  await requireTestImage();
});

afterAll(async () => {
  const live = agents.filter((a) => a.exitCode === null && a.signalCode === null);
  const exited = live.map((a) => new Promise((r) => a.once("exit", r)));
  for (const agent of live) agent.kill("SIGTERM");
  await Promise.all(exited);
  for (const executionArn of executions)
    await sfn.send(new StopExecutionCommand({ executionArn })).catch(() => undefined);
  for (const QueueUrl of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  // Whatever a failed run left of this file's containers (labelled with a work folder under base).
  const listed = JSON.parse((await dockerApi("GET", "/containers/json?all=1")).body) as Array<{
    Id: string;
    Labels: Record<string, string>;
  }>;
  for (const c of listed)
    if (c.Labels[OWNER_LABEL]?.startsWith(`lab:${base}`))
      await dockerApi("DELETE", `/containers/${c.Id}?force=1`);
  rmSync(base, { recursive: true, force: true });
});

interface Site {
  dir: string;
  workDir: string;
  marks: string;
  args: string[];
}

/** An agent's files, queue and one-step machine whose step (given its marks folder) runs until killed. */
async function prepareSite(name: string, runtime: "process" | "docker", step: TestStep): Promise<Site> {
  const dir = join(base, name);
  const marks = join(dir, "marks");
  mkdirSync(marks, { recursive: true });
  const workflow = `orphans-${runtime}`;
  const manifestPath = join(dir, "manifest.json");
  writeFileSync(manifestPath, JSON.stringify(manifestOf(workflow, [step])));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName(`sec-${name}`) }));
  queues.push(QueueUrl!);
  const machine = await createOneStepMachine(sfn, { workflow, step: step.name, queueUrl: QueueUrl! });
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn!, input: "{}" }),
  );
  executions.push(executionArn!);
  const workDir = join(dir, "work");
  return {
    dir,
    workDir,
    marks,
    args: [
      "agent",
      "--site",
      "lab",
      "--queue-url",
      QueueUrl!,
      "--manifest",
      manifestPath,
      "--runtime",
      runtime,
      "--engine-socket",
      dockerSocket(),
      "--pull-policy",
      "never",
      "--work-dir",
      workDir,
      "--metrics-port",
      "0",
      "--shutdown-grace-seconds",
      "1",
      "--log-level",
      "info",
    ],
  };
}

/** Starts `ferry agent`; resolves with it once it logged "agent running" (or rejects with its output when it exits). */
function startAgent(site: Site): Promise<{ agent: ChildProcess; log: string[] }> {
  const agent = spawn(process.execPath, [FERRY_BIN, ...site.args], {
    cwd: site.dir,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: localstackEndpoint(),
      AWS_REGION: awsClientConfig().region,
      // No redelivery while the test looks: the abandoned message stays invisible.
      FERRY_VISIBILITY_TIMEOUT_SECONDS: "900",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agents.push(agent);
  const log: string[] = [];
  let pending = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        if (line.includes('"msg":"agent running"')) resolve({ agent, log });
      }
    };
    agent.stdout!.on("data", onData);
    agent.stderr!.on("data", onData);
    agent.once("exit", (code) =>
      reject(new Error(`agent exited with ${code}:\n${[...log, pending].join("\n")}`)),
    );
  });
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function running(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** The step's process group, once its shell wrote its pid and its child runs. */
function stepGroup(site: Site): Promise<{ pids: number[]; jobDir: string }> {
  return until(`the step of ${site.dir}`, () => {
    const pidFile = join(site.marks, "pid");
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, "utf8"));
    const leader = identityOf(pid);
    const pids = leader ? groupMembers(leader) : [];
    return pids.length >= 2
      ? { pids, jobDir: readFileSync(join(site.marks, "job"), "utf8").trim() }
      : undefined;
  });
}

async function containersOf(site: Site): Promise<Array<{ Id: string; State: string; jobDir: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${OWNER_LABEL}=lab:${site.workDir}`] }));
  const listed = JSON.parse(
    (await dockerApi("GET", `/containers/json?all=1&filters=${filters}`)).body,
  ) as Array<{
    Id: string;
    State: string;
    Mounts: Array<{ Source: string; Destination: string }>;
  }>;
  return listed.map((c) => ({
    Id: c.Id,
    State: c.State,
    jobDir: c.Mounts.find((m) => m.Destination === "/ferry/job")?.Source ?? "",
  }));
}

function killed(agent: ChildProcess): Promise<unknown> {
  const exited = new Promise((r) => agent.once("exit", r));
  agent.kill("SIGKILL");
  return exited;
}

const STEP_SCRIPT = 'echo $$ > "$MARKS/pid"; echo "$FERRY_JOB_DIR" > "$MARKS/job"; sleep 300 & wait';

/** A shell leading its group, with a child: both must go. */
function processStep(marks: string): TestStep {
  const step = shStep("nap", STEP_SCRIPT, { site: "lab", timeoutSeconds: 900 });
  return { ...step, runtime: { kind: "process", command: ["sh", "-c", STEP_SCRIPT], env: { MARKS: marks } } };
}

describe("orphans: an agent SIGKILLed mid-step, then restarted", () => {
  it("process runtime: the restarted agent kills the abandoned process group and frees its job folder; a second agent refused on a live agent's folder; a neighbour agent's step keeps running", async () => {
    const mine = await prepareSite("proc-mine", "process", processStep(join(base, "proc-mine", "marks")));
    const neighbour = await prepareSite(
      "proc-neighbour",
      "process",
      processStep(join(base, "proc-neighbour", "marks")),
    );
    const first = await startAgent(mine);
    await startAgent(neighbour);
    const orphan = await stepGroup(mine);
    const theirs = await stepGroup(neighbour);
    expect(existsSync(orphan.jobDir)).toBe(true);

    // A second agent on a live agent's work folder would reap its running steps: it is refused.
    await expect(startAgent(mine)).rejects.toThrow(/is in use by another agent \(pid \d+\)/);
    expect(orphan.pids.filter(running)).toEqual(orphan.pids);

    await killed(first.agent);
    // The crash left the step running, holding its job folder.
    expect(orphan.pids.filter(running)).toEqual(orphan.pids);

    const restarted = await startAgent(mine);
    expect(orphan.pids.filter(running)).toEqual([]);
    expect(existsSync(orphan.jobDir)).toBe(false);
    expect(readdirSync(join(mine.workDir, AGENT_STATE_DIR, "groups"))).toEqual([]);
    expect(restarted.log.join("\n")).toMatch(
      /stopped step process groups a previous agent instance left running/,
    );
    // The neighbour (same site, same user, its own work folder) was never touched.
    expect(theirs.pids.filter(running)).toEqual(theirs.pids);
    expect(existsSync(theirs.jobDir)).toBe(true);
  });

  it("docker runtime: the restarted agent removes the abandoned container and frees its job folder; a neighbour agent's container keeps running", async () => {
    const step = containerShStep("nap", TEST_IMAGE, "sleep 300", { site: "lab", timeoutSeconds: 900 });
    const mine = await prepareSite("docker-mine", "docker", step);
    const neighbour = await prepareSite("docker-neighbour", "docker", step);
    const first = await startAgent(mine);
    await startAgent(neighbour);
    const [orphan] = await until("my step's container", async () => {
      const found = await containersOf(mine);
      return found.some((c) => c.State === "running") ? found : undefined;
    });
    const [theirs] = await until("the neighbour's container", async () => {
      const found = await containersOf(neighbour);
      return found.some((c) => c.State === "running") ? found : undefined;
    });
    expect(existsSync(orphan!.jobDir)).toBe(true);

    await killed(first.agent);
    expect((await containersOf(mine)).map((c) => c.State)).toEqual(["running"]);

    const restarted = await startAgent(mine);
    expect(await containersOf(mine)).toEqual([]);
    expect(existsSync(orphan!.jobDir)).toBe(false);
    expect(restarted.log.join("\n")).toMatch(
      /stopped task containers a previous agent instance left running/,
    );
    expect(await containersOf(neighbour)).toEqual([{ ...theirs, State: "running" }]);
    expect(existsSync(theirs!.jobDir)).toBe(true);
  });
});
