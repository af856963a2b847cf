import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPodmanRuntime } from "@ferry/edge-agent";
import { containerShStep, describeRuntimeContract, type TestStep } from "@ferry/edge-agent/testing";
import Docker from "dockerode";
import { afterAll, beforeAll } from "vitest";

// The podman runtime is the Docker runtime on podman's Docker-compatible API,
// held to the same contract. This file starts its own `podman system service`
// on a private socket and imports its own busybox image: nothing is pulled.
const IMAGE = "localhost/ferry-test/busybox:1";
const APPLETS = ["sh", "cat", "echo", "sleep", "true", "false", "tr", "printf", "ls", "grep", "head"];
const dir = mkdtempSync(join(tmpdir(), "ferry-podman-"));
const socketPath = join(dir, "podman.sock");
let service: ChildProcess | undefined;

function podman(...args: string[]): string {
  return execFileSync("podman", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeAll(async () => {
  try {
    podman("--version");
  } catch (error) {
    throw new Error(`podman is not installed (${(error as Error).message}): apt-get install podman`);
  }
  try {
    podman("image", "exists", IMAGE);
  } catch {
    const root = join(dir, "rootfs");
    mkdirSync(join(root, "bin"), { recursive: true });
    mkdirSync(join(root, "tmp"));
    copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
    for (const applet of APPLETS) symlinkSync("busybox", join(root, "bin", applet));
    execFileSync("tar", ["-C", root, "-cf", join(dir, "rootfs.tar"), "."]);
    podman("import", "--change", "ENV=PATH=/bin", join(dir, "rootfs.tar"), IMAGE);
  }
  service = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], { stdio: "ignore" });
  const docker = new Docker({ socketPath });
  for (let i = 0; ; i++) {
    try {
      await docker.ping();
      break;
    } catch (error) {
      if (i > 100)
        throw new Error(`podman system service did not answer on ${socketPath}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}, 120_000);

afterAll(() => {
  service?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

function box(name: string, script: string, extra: Partial<TestStep> = {}): TestStep {
  return containerShStep(name, IMAGE, script, extra);
}

describeRuntimeContract("podman", {
  kind: "container",
  runtime: () => createPodmanRuntime({ socketPath, pullPolicy: "never", killGraceSeconds: 1 }),
  shStep: box,
});
