import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import {
  CONTAINER_LABEL,
  createWorker,
  DockerRuntime,
  InMemoryQueue,
  RecordingCompletion,
  type Worker,
} from "@ferry/edge-agent";
import {
  containerShStep,
  describeRuntimeContract,
  manifestOf,
  stepMessage,
  type TestStep,
} from "@ferry/edge-agent/testing";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSocket, requireTestImage, TEST_IMAGE } from "./support/env.ts";

// The Docker runtime against a real engine (dockerd started by the test setup
// with --bridge=none) and an image built locally; nothing is pulled.
const IMAGE = TEST_IMAGE;
const socketPath = dockerSocket();

function box(name: string, script: string, extra: Partial<TestStep> = {}): TestStep {
  return containerShStep(name, IMAGE, script, extra);
}

beforeAll(async () => {
  await requireTestImage();
});

describeRuntimeContract("docker", {
  kind: "container",
  runtime: () => new DockerRuntime({ socketPath, pullPolicy: "never", killGraceSeconds: 1 }),
  shStep: box,
});

describe("docker runtime defaults", () => {
  // Other suites share the engine: look only at this block's containers.
  const execution = `agent-docker-${Date.now()}`;
  let worker: Worker;
  let queue: InMemoryQueue;
  let completion: RecordingCompletion;

  beforeAll(async () => {
    queue = new InMemoryQueue();
    completion = new RecordingCompletion();
    worker = createWorker({
      queue,
      completion,
      manifests: [
        manifestOf("docker", [
          box("net", 'echo "{\\"ifaces\\":\\"$(ls /sys/class/net | tr "\\n" " ")\\"}"'),
          box(
            "caps",
            'echo "{\\"cap\\":\\"$(grep CapEff /proc/self/status | tr -d "\\t ")\\",\\"nnp\\":\\"$(grep NoNewPrivs /proc/self/status | tr -d "\\t ")\\"}"',
          ),
          box(
            "mem",
            'echo "{\\"max\\":\\"$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)\\"}"',
          ),
          {
            ...box("ghost", "true"),
            runtime: {
              ...box("x", "true").runtime,
              image: "ferry-test/does-not-exist:1",
            } as TestStep["runtime"],
          },
        ]),
      ],
      runtimes: { container: new DockerRuntime({ socketPath, pullPolicy: "never" }) },
      workDir: join(await mkdtemp(join(tmpdir(), "ferry-docker-")), "work"),
    });
    await worker.start();
  });
  afterAll(() => worker?.stop({ graceMs: 0 }));

  async function run(step: string) {
    const message = stepMessage({ workflow: "docker", step, execution });
    queue.send(JSON.stringify(message));
    while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 10));
    return completion.forToken(message.token)[0]!;
  }

  it("runs with no network but loopback", async () => {
    expect(await run("net")).toMatchObject({ kind: "success", output: { ifaces: "lo " } });
  });

  it("drops every capability and sets no-new-privileges", async () => {
    expect(await run("caps")).toMatchObject({
      kind: "success",
      output: { cap: "CapEff:0000000000000000", nnp: "NoNewPrivs:1" },
    });
  });

  it("applies the memory limit from resources", async () => {
    expect(await run("mem")).toMatchObject({ kind: "success", output: { max: String(64 * 1024 * 1024) } });
  });

  it("never pulls: a missing image fails as Ferry.NonRetriable naming the image", async () => {
    const record = await run("ghost");
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
    expect((record as { cause: string }).cause).toContain("ferry-test/does-not-exist:1");
  });

  it("leaves no container behind", async () => {
    const docker = new Docker({ socketPath });
    const left = await docker.listContainers({
      all: true,
      filters: { label: [CONTAINER_LABEL, `dev.ferry.execution=${execution}`] },
    });
    expect(left).toEqual([]);
  });
});
