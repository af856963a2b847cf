import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFNClient } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { containerShStep, manifestOf } from "@ferry/edge-agent/testing";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  awsClientConfig,
  localstackEndpoint,
  requireLocalStack,
  requireTestImage,
  TEST_IMAGE,
  TestEnvironmentError,
  uniqueName,
} from "../support/env.ts";
import { FERRY_BIN } from "../support/ferry-cli.ts";
import { runOneStep } from "../support/localstack.ts";
import {
  createSystemUser,
  openPathToRepository,
  removeSystemUser,
  requireUserSwitching,
  type SystemUser,
} from "../support/step-users.ts";

// Running without the docker group, with rootless podman: the agent's user
// runs its own podman (user namespace, subordinate ids from /etc/subuid)
// and talks to its own API socket. Whatever that API allows, it allows only
// the agent user's rights: a privileged container with the host's root bound
// in cannot read or change root's files, and root inside is the agent user
// outside. A real `ferry agent` as that user, in no group, runs a container
// step through it and answers Step Functions.

// podman names an image loaded from `docker save` under localhost/.
const IMAGE = `localhost/${TEST_IMAGE}`;
const SUBIDS = 65_536;
let setpriv: string;
let user: SystemUser | undefined;
let subidStart = 0;
let base: string;
let home: string;
let runtimeDir: string;
let socketPath: string;
let service: ChildProcess | undefined;
let closePathToRepository: (() => void) | undefined;

function userEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtimeDir };
}

/** `argv` as the agent's user: its own uid and gid, no supplementary groups, no capabilities. */
function asUser(argv: string[]): string[] {
  return [`--reuid=${user!.uid}`, `--regid=${user!.gid}`, "--clear-groups", "--", ...argv];
}

function podman(...args: string[]): string {
  return execFileSync(setpriv, asUser(["podman", ...args]), {
    cwd: home,
    env: userEnv(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

beforeAll(async () => {
  await requireTestImage();
  setpriv = requireUserSwitching();
  for (const tool of ["podman", "newuidmap", "newgidmap"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new TestEnvironmentError(`${tool} is missing: apt-get install podman uidmap slirp4netns`);
    }
  }
  closePathToRepository = openPathToRepository();
  user = createSystemUser("fsec2-pod");
  // Subordinate ids of its own, past every range already given out.
  const taken = ["/etc/subuid", "/etc/subgid"].flatMap((file) => {
    try {
      return readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line.split(":")[1]) + Number(line.split(":")[2]));
    } catch {
      return [];
    }
  });
  subidStart = Math.max(1_000_000, ...taken) + SUBIDS * (1 + (process.pid % 64));
  const range = `${subidStart}-${subidStart + SUBIDS - 1}`;
  execFileSync("usermod", ["--add-subuids", range, "--add-subgids", range, user.name]);
  base = mkdtempSync(join(tmpdir(), "ferry-sec-rootless-"));
  chmodSync(base, 0o711);
  home = join(base, "home");
  runtimeDir = join(base, "run");
  for (const dir of [home, runtimeDir]) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, user.uid, user.gid);
  }
  // Images are never pulled: the test image, saved from Docker, loaded into the user's own store.
  const archive = join(home, "image.tar");
  execFileSync("docker", ["save", TEST_IMAGE, "-o", archive]);
  chownSync(archive, user.uid, user.gid);
  podman("load", "-i", archive);
  socketPath = join(runtimeDir, "podman.sock");
  service = spawn(setpriv, asUser(["podman", "system", "service", "--time=0", `unix://${socketPath}`]), {
    cwd: home,
    env: userEnv(),
    stdio: "ignore",
  });
  const docker = new Docker({ socketPath });
  for (let i = 0; ; i++) {
    try {
      await docker.ping();
      break;
    } catch (error) {
      if (i > 200)
        throw new Error(`rootless podman did not answer on ${socketPath}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}, 180_000);

afterAll(async () => {
  if (service) {
    const exited = new Promise((r) => service!.once("exit", r));
    service.kill("SIGTERM");
    await exited;
  }
  if (user && home) {
    // The user's store holds files of its subordinate ids: let podman remove what it made.
    try {
      podman("system", "reset", "--force");
    } catch {
      // Removed below as root anyway.
    }
  }
  if (user && subidStart > 0) {
    const range = `${subidStart}-${subidStart + SUBIDS - 1}`;
    execFileSync("usermod", ["--del-subuids", range, "--del-subgids", range, user.name]);
  }
  closePathToRepository?.();
  removeSystemUser(user);
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("rootless podman: the agent's user", () => {
  it("is in no docker group, and its own engine's most privileged container holds only that user's rights", () => {
    const own = join(base, "own");
    mkdirSync(own, { mode: 0o700 });
    chownSync(own, user!.uid, user!.gid);
    const script = [
      "echo uid=$(id -u)",
      "cat /host/etc/shadow >/dev/null 2>&1 && echo read-shadow",
      "echo owned > /host/etc/ferry-sec2-owned 2>/dev/null && echo wrote-etc",
      "cat /host/proc/1/environ >/dev/null 2>&1 && echo read-init-environ",
      "ls /host/root >/dev/null 2>&1 && echo listed-root-home",
      "touch /own/made-inside && echo made-own",
    ].join("; ");
    const out = podman(
      "run",
      "--rm",
      "--privileged",
      "--user",
      "0:0",
      "--network",
      "none",
      "-v",
      "/:/host",
      "-v",
      `${own}:/own`,
      IMAGE,
      "sh",
      "-c",
      script,
    );
    // Root inside, with every capability the engine can give…
    expect(out).toContain("uid=0");
    // …yet none of root's files on the host, read or written.
    expect(out).not.toMatch(/read-shadow|wrote-etc|read-init-environ|listed-root-home/);
    expect(() => statSync("/etc/ferry-sec2-owned")).toThrow();
    // What it made on the host belongs to the agent's user: root inside is that user outside.
    expect(out).toContain("made-own");
    expect(statSync(join(own, "made-inside")).uid).toBe(user!.uid);
    // And the docker group stays out of reach: the process has no groups.
    const groups = execFileSync(setpriv, asUser(["id", "-G"]), { encoding: "utf8" }).trim();
    expect(groups).toBe(String(user!.gid));
  });
});

describe("rootless podman: a real agent as that user", () => {
  const sqs = new SQSClient(awsClientConfig());
  const sfn = new SFNClient(awsClientConfig());

  it("answers a task whose container step ran on its own rootless podman", async () => {
    await requireLocalStack(["sqs", "stepfunctions"]);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("sec-rootless") }));
    const dir = join(base, "agent");
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, user!.uid, user!.gid);
    const manifestPath = join(dir, "manifest.json");
    const step = containerShStep(
      "hello",
      IMAGE,
      'read -r input; echo "{\\"got\\":$input,\\"uid\\":$(id -u)}"',
      {
        site: "lab",
      },
    );
    writeFileSync(manifestPath, JSON.stringify(manifestOf("rootless-e2e", [step])));
    chmodSync(manifestPath, 0o644);
    const agent = spawn(
      setpriv,
      asUser([
        process.execPath,
        FERRY_BIN,
        "agent",
        "--site",
        "lab",
        "--queue-url",
        QueueUrl!,
        "--manifest",
        manifestPath,
        "--runtime",
        "podman",
        "--engine-socket",
        socketPath,
        "--pull-policy",
        "never",
        "--work-dir",
        join(dir, "work"),
        "--metrics-port",
        "0",
        "--shutdown-grace-seconds",
        "1",
      ]),
      {
        cwd: dir,
        env: {
          ...userEnv(),
          AWS_ENDPOINT_URL: localstackEndpoint(),
          AWS_REGION: awsClientConfig().region,
          AWS_ACCESS_KEY_ID: awsClientConfig().credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: awsClientConfig().credentials.secretAccessKey,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const { described, log } = await runOneStep(sfn, agent, {
        workflow: "rootless-e2e",
        step: "hello",
        queueUrl: QueueUrl!,
        input: { n: 7 },
      });
      expect({ status: described.status, log: described.status === "SUCCEEDED" ? "" : log() }).toEqual({
        status: "SUCCEEDED",
        log: "",
      });
      // The hardening still applies: the root image's step ran as 65534 inside.
      expect(JSON.parse(described.output!)).toEqual({ got: { input: { n: 7 }, deps: {} }, uid: 65534 });
      // This host's cgroups v1 cannot hold rootless limits: the agent says so rather than pretend.
      const cgroupV2 = statSync("/sys/fs/cgroup/cgroup.controllers", { throwIfNoEntry: false }) !== undefined;
      if (!cgroupV2)
        expect(log()).toContain("rootless on cgroups v1, which ignores memory, CPU and pids limits");
      const status = readFileSync(`/proc/${agent.pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`^Uid:\\t${user!.uid}\\t`, "m"));
      expect(status).toMatch(/^Groups:\s*$/m);
      expect(status).toMatch(/^CapEff:\t0+$/m);
    } finally {
      if (agent.exitCode === null && agent.signalCode === null) {
        const exited = new Promise((r) => agent.once("exit", r));
        agent.kill("SIGTERM");
        await exited;
      }
      await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
    }
  });
});
