import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFNClient } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DockerRuntime, PROXY_LABEL } from "@ferry/edge-agent";
import {
  containerShStep,
  describeRuntimeContract,
  manifestOf,
  type TestStep,
} from "@ferry/edge-agent/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { FERRY_BIN, REPO_ROOT } from "../support/ferry-cli.ts";
import { runOneStep } from "../support/localstack.ts";
import {
  createSystemUser,
  openPathToRepository,
  removeSystemUser,
  requireUserSwitching,
  type SystemUser,
} from "../support/step-users.ts";

// Running without the docker group, through `ferry engine-proxy`: the proxy
// (as root here, as a docker-group user on a device) serves a socket only the
// agent's group may open. A process as the agent's user, without the docker
// group, cannot reach the engine itself, and through the proxy cannot create
// a privileged container, bind the host, use the host network, touch or exec
// into other containers, or call anything the runtime does not call. The
// runtime contract passes through the proxy, and a real `ferry agent` as
// that user answers a Step Functions task with a container step.

const PROXY_ID = `ferry-sec2-${randomBytes(4).toString("hex")}`;
let setpriv: string;
let agentUser: SystemUser | undefined;
let base: string;
let workDir: string;
let proxySocket: string;
let proxy: ChildProcess | undefined;
let victim: string | undefined;
let closePathToRepository: (() => void) | undefined;

beforeAll(async () => {
  await requireTestImage();
  setpriv = requireUserSwitching();
  closePathToRepository = openPathToRepository();
  agentUser = createSystemUser("fsec2-agent");
  base = mkdtempSync(join(tmpdir(), "ferry-sec-proxy-"));
  chmodSync(base, 0o711);
  workDir = join(base, "work");
  mkdirSync(workDir);
  chownSync(workDir, agentUser.uid, agentUser.gid);
  proxySocket = join(base, "engine.sock");
  proxy = spawn(
    process.execPath,
    [
      FERRY_BIN,
      "engine-proxy",
      "--listen",
      proxySocket,
      "--upstream",
      dockerSocket(),
      "--bind-root",
      workDir,
      "--socket-group",
      agentUser.name,
      "--id",
      PROXY_ID,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    proxy!.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("engine proxy running")) resolve();
    });
    proxy!.once("exit", (code) => reject(new Error(`ferry engine-proxy exited with ${code}`)));
  });
  // Another container on the same engine, not the agent's: never to be touched through the proxy.
  const created = await dockerApi("POST", `/containers/create?name=${PROXY_ID}-victim`, 10_000, {
    Image: TEST_IMAGE,
    Cmd: ["sleep", "300"],
    HostConfig: { NetworkMode: "none" },
  });
  victim = (JSON.parse(created.body) as { Id: string }).Id;
  await dockerApi("POST", `/containers/${victim}/start`);
});

afterAll(async () => {
  if (victim) await dockerApi("DELETE", `/containers/${victim}?force=1`);
  const filters = encodeURIComponent(JSON.stringify({ label: [`${PROXY_LABEL}=${PROXY_ID}`] }));
  const left = JSON.parse(
    (await dockerApi("GET", `/containers/json?all=1&filters=${filters}`)).body,
  ) as Array<{
    Id: string;
  }>;
  for (const c of left) await dockerApi("DELETE", `/containers/${c.Id}?force=1`);
  proxy?.kill("SIGTERM");
  closePathToRepository?.();
  removeSystemUser(agentUser);
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Runs `node args` as the agent's user: its own uid and gid, no supplementary groups (no docker). */
function asAgentUser(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  return spawn(
    setpriv,
    [
      `--reuid=${agentUser!.uid}`,
      `--regid=${agentUser!.gid}`,
      "--clear-groups",
      "--",
      process.execPath,
      // Resolved here: the process may start in a folder with no node_modules.
      "--import",
      import.meta.resolve("tsx"),
      ...args,
    ],
    {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

describe("engine proxy: a process as the agent's user", () => {
  it("cannot reach the engine directly, and through the proxy gets only hardened containers of its own", async () => {
    const planFile = join(base, "attack.json");
    writeFileSync(
      planFile,
      JSON.stringify({ proxy: proxySocket, docker: dockerSocket(), victim, workDir, image: TEST_IMAGE }),
    );
    chmodSync(planFile, 0o644);
    const attacker = asAgentUser([join(import.meta.dirname, "engine-proxy-attacker.ts"), planFile]);
    let stdout = "";
    let stderr = "";
    attacker.stdout!.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    attacker.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((r) => attacker.once("close", r));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(stdout) as Record<string, { status: number | string; body: string }>;

    // Without the docker group the engine's own socket is closed to it.
    expect(out.dockerSocketDirectly!.status).toBe("EACCES");
    const refused = (name: string, reason: RegExp) => {
      expect(out[name]!.status, name).toBe(403);
      expect((JSON.parse(out[name]!.body) as { message: string }).message, name).toMatch(reason);
    };
    refused("privileged", /Privileged is not allowed/);
    refused("capAdd", /CapAdd is not allowed/);
    refused("hostRootBind", /host folder outside/);
    refused("hostEtcBind", /host folder outside/);
    refused("mountsBind", /Mounts is not allowed/);
    refused("dockerSocketBind", /host folder outside/);
    refused("symlinkBind", /leads to \/, outside/);
    refused("dotDotBind", /not normal/);
    refused("workDirBind", /only folders inside it/);
    refused("agentStateBind", /dot folder/);
    refused("hostNetwork", /NetworkMode "host" is not allowed/);
    refused("pidHost", /PidMode is not allowed/);
    refused("victimNetwork", /NetworkMode "container:/);
    refused("devices", /Devices is not allowed/);
    refused("seccompUnconfined", /SecurityOpt must be exactly/);
    refused("rootUser", /root is not allowed/);
    refused("imageRootUser", /runs as root and User is not set/);
    for (const name of [
      "execVictim",
      "execVictimVersioned",
      "execOwn",
      "archiveVictim",
      "info",
      "build",
      "volumeCreate",
      "networkCreate",
    ])
      refused(name, /is not a call the Ferry runtime makes/);
    refused("importImage", /only pulls/);
    refused("encodedPath", /unusual path/);
    refused("dotDotPath", /unusual path/);
    for (const name of ["stopVictim", "killVictim", "removeVictim", "inspectVictim", "attachVictim"])
      refused(name, /not created through this proxy/);
    // Listing shows only the proxy's own containers.
    expect(out.list!.status).toBe(200);
    expect(out.list!.body).not.toContain(victim!);
    // What the runtime itself does is allowed, but a bind swapped for a symlink before start is refused.
    expect(out.hardenedCreate!.status).toBe(201);
    refused("startAfterSwap", /leads to \/, outside/);
    expect(out.removeOwn!.status).toBe(204);

    // The other container ran on, untouched.
    const inspected = JSON.parse((await dockerApi("GET", `/containers/${victim}/json`)).body) as {
      State: { Running: boolean };
    };
    expect(inspected.State.Running).toBe(true);
    // Nothing the attacker asked for exists.
    for (const what of ["volumes/ferry-sec2-attacker", "networks/ferry-sec2-attacker"])
      expect((await dockerApi("GET", `/${what}`)).statusCode).toBe(404);
  });
});

// The agent's container runtime, unchanged, through the proxy.
describeRuntimeContract("docker through ferry engine-proxy", {
  kind: "container",
  runtime: () =>
    new DockerRuntime({ socketPath: proxySocket, pullPolicy: "never", killGraceSeconds: 1, owner: PROXY_ID }),
  shStep: (name: string, script: string, extra: Partial<TestStep> = {}) =>
    containerShStep(name, TEST_IMAGE, script, extra),
  root: async () => mkdtempSync(join(workDir, "suite-")),
});

describe("engine proxy: a real agent without the docker group", () => {
  const sqs = new SQSClient(awsClientConfig());
  const sfn = new SFNClient(awsClientConfig());

  it("answers a task whose container step ran through the proxy", async () => {
    await requireLocalStack(["sqs", "stepfunctions"]);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("sec-proxy") }));
    const dir = join(base, "agent");
    mkdirSync(dir);
    const manifestPath = join(dir, "manifest.json");
    const step = containerShStep("hello", TEST_IMAGE, 'read -r input; echo "{\\"got\\":$input}"', {
      site: "lab",
    });
    writeFileSync(manifestPath, JSON.stringify(manifestOf("proxy-e2e", [step])));
    chmodSync(dir, 0o755);
    chmodSync(manifestPath, 0o644);
    const agentWork = join(workDir, "agent");
    mkdirSync(agentWork);
    chownSync(agentWork, agentUser!.uid, agentUser!.gid);
    const agent = asAgentUser(
      [
        join(REPO_ROOT, "cli", "bin", "ferry.js"),
        "agent",
        "--site",
        "lab",
        "--queue-url",
        QueueUrl!,
        "--manifest",
        manifestPath,
        "--runtime",
        "docker",
        "--engine-socket",
        proxySocket,
        "--pull-policy",
        "never",
        "--work-dir",
        join(agentWork, "work"),
        "--metrics-port",
        "0",
        "--shutdown-grace-seconds",
        "1",
      ],
      {
        cwd: dir,
        env: {
          AWS_ENDPOINT_URL: localstackEndpoint(),
          AWS_REGION: awsClientConfig().region,
          AWS_ACCESS_KEY_ID: awsClientConfig().credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: awsClientConfig().credentials.secretAccessKey,
          HOME: dir,
        },
      },
    );
    try {
      const { described, log } = await runOneStep(sfn, agent, {
        workflow: "proxy-e2e",
        step: "hello",
        queueUrl: QueueUrl!,
        input: { n: 7 },
      });
      expect({ status: described.status, log: described.status === "SUCCEEDED" ? "" : log() }).toEqual({
        status: "SUCCEEDED",
        log: "",
      });
      expect(JSON.parse(described.output!)).toEqual({ got: { input: { n: 7 }, deps: {} } });
      // It really ran as the agent's user, in no docker group.
      const status = readFileSync(`/proc/${agent.pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`^Uid:\\t${agentUser!.uid}\\t`, "m"));
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
