import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { manifestOf } from "../testing/fixtures.ts";
import { DockerRuntime } from "./docker.ts";

// The container spec the runtime sends to the engine (pure logic: a fake
// client that records createContainer and stops there). The real engine is
// exercised in test/agent-docker.test.ts.
function capture(options: ConstructorParameters<typeof DockerRuntime>[0] = {}) {
  const specs: Dockerode.ContainerCreateOptions[] = [];
  const client = {
    createContainer: async (spec: Dockerode.ContainerCreateOptions) => {
      specs.push(spec);
      throw Object.assign(new Error("recorded"), { statusCode: 500 });
    },
    getImage: () => ({ inspect: async () => ({ Config: { User: "" } }) }),
    modem: { socketPath: "/nonexistent.sock" },
  } as unknown as Dockerode;
  return { runtime: new DockerRuntime({ client, ...options }), specs };
}

const manifest = manifestOf("wf", [
  {
    name: "train",
    runtime: {
      kind: "container",
      image: "registry.example/train@sha256:abc",
      command: ["python", "train.py"],
      env: { EPOCHS: "3" },
      network: "none",
      volumes: [{ hostPath: "/data", containerPath: "/data", readOnly: true }],
      allowHost: true,
    },
    resources: { cpu: 1.5, memoryMiB: 2048, gpu: 1 },
  },
]);

const jobDir = mkdtempSync(join(tmpdir(), "ferry-docker-spec-"));

function request(signal = new AbortController().signal) {
  return {
    step: manifest.steps.train!,
    input: { input: {}, deps: {} },
    inputJson: '{"input":{},"deps":{}}',
    jobFiles: { bucket: "local", prefix: "" },
    jobDir,
    env: { FERRY_EXECUTION: "exec-1", FERRY_STEP: "train" },
    signal,
    logCapBytes: 1024,
  };
}

describe("DockerRuntime container spec", () => {
  it("locks the container down and applies resources, GPUs, job folder and volumes", async () => {
    const { runtime, specs } = capture({ gpus: 2, allowedHostPaths: ["/data"] });
    await expect(runtime.run(request())).rejects.toMatchObject({ code: "RUNTIME_FAILED" });
    const spec = specs[0]!;
    expect(spec).toMatchObject({
      Image: "registry.example/train@sha256:abc",
      Cmd: ["python", "train.py"],
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      HostConfig: {
        NetworkMode: "none",
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=64m" },
        PidsLimit: 256,
        NanoCpus: 1_500_000_000,
        Memory: 2048 * 1024 * 1024,
        MemorySwap: 2048 * 1024 * 1024,
        Binds: [`${jobDir}:/ferry/job:rw`, "/data:/data:ro"],
        DeviceRequests: [{ Driver: "", Count: 1, Capabilities: [["gpu"]] }],
      },
    });
    expect(spec.User).toBe("65534:65534");
    expect(spec.Env!.some((e) => e.startsWith("FERRY_INPUT="))).toBe(false);
    expect(spec.Env).toEqual(
      expect.arrayContaining(["EPOCHS=3", "FERRY_JOB_DIR=/ferry/job", "FERRY_STEP=train"]),
    );
  });

  it("refuses host volumes and the host network the agent config did not allow-list", async () => {
    const { runtime, specs } = capture({ gpus: 2 });
    await expect(runtime.run(request())).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining('binds host folder "/data"'),
    });
    expect(specs).toEqual([]);
  });

  it("refuses a step asking for more GPUs than the device offers", async () => {
    const { runtime, specs } = capture({ gpus: 0 });
    await expect(runtime.run(request())).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE" });
    expect(specs).toEqual([]);
  });
});
