import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFNClient } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { RESTART_MARKER } from "@ferry/edge-agent/cli";
import { manifestOf, shStep, type TestStep } from "@ferry/edge-agent/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  awsClientConfig,
  localstackEndpoint,
  requireDocker,
  requireLocalStack,
  uniqueName,
} from "./support/env.ts";
import { REPO_ROOT } from "./support/ferry-cli.ts";
import {
  createOneStepMachine,
  lastHistoryEvents,
  startExecution,
  waitForExecution,
} from "./support/localstack.ts";
import { throwawayRoot } from "./support/throwaway-root.ts";

// The agent as it ships (scripts/build.mjs): the single-file bundle, the Node
// single-executable applications for linux-x64 and linux-arm64 (the one that
// is not this machine's runs under qemu-user-static), the .debs, install.sh
// and the ferry-agent image. Each executable polls a real LocalStack queue and
// answers a real Step Functions task token.

const ROOT_PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  dependencies: { node: string };
};
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "edge-agent", "package.json"), "utf8")) as { version: string }
).version;
const NODE_VERSION = ROOT_PACKAGE.dependencies.node;
const DIST = join(REPO_ROOT, "dist", "agent");
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "x64";
const DEB_ARCH = { x64: "amd64", arm64: "arm64" } as const;
/** How to run the other architecture's executable: Debian's qemu-user-static and its *-cross libraries. */
const EMULATORS = {
  arm64: ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"],
  x64: ["qemu-x86_64-static", "-L", "/usr/x86_64-linux-gnu"],
} as const;
/** This machine's dynamic loader and libraries, the way the Fargate image starts the executable (infra's AGENT_ENTRY_POINT). */
const LOADER = {
  x64: ["/lib64/ld-linux-x86-64.so.2", "--library-path", "/usr/lib/x86_64-linux-gnu"],
  arm64: ["/lib/ld-linux-aarch64.so.1", "--library-path", "/usr/lib/aarch64-linux-gnu"],
} as const;
const IMAGE = `ferry-agent:${VERSION}`;
const sea = (arch: "x64" | "arm64") => join(DIST, `linux-${arch}`, "ferry-agent");
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

const sqs = new SQSClient(awsClientConfig());
const sfn = new SFNClient(awsClientConfig());
let base: string;
const queues: string[] = [];
const containers: string[] = [];

beforeAll(async () => {
  await requireLocalStack(["sqs", "stepfunctions"]);
  await requireDocker();
  // Idempotent: remakes only what changed since the last build.
  execFileSync("bash", [join(REPO_ROOT, "test", "env", "build-agent-artifacts.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  base = mkdtempSync(join(tmpdir(), "ferry-artifact-"));
  chmodSync(base, 0o755);
}, 1_800_000);

afterAll(async () => {
  for (const name of containers) spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
  for (const url of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
  if (base) rmSync(base, { recursive: true, force: true });
});

function run(file: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const out = spawnSync(file, args, { encoding: "utf8" });
  if (out.error) throw out.error;
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(command: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Started {
  const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => {
    output += c;
  });
  child.stderr!.on("data", (c: Buffer) => {
    output += c;
  });
  const exit = new Promise<number | null>((resolve) => child.once("close", resolve));
  return { child, output: () => output, exit };
}

/** Resolves once /healthz answers healthy; fails with the agent's output if it exits first. */
async function healthy(port: number, agent: { exited: () => boolean; output: () => string }): Promise<void> {
  for (;;) {
    if (agent.exited()) throw new Error(`the agent exited before it was healthy:\n${agent.output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (res?.ok && ((await res.json()) as { healthy: boolean }).healthy) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A project for one agent: a queue, a manifest with the given steps, and agent.yaml naming them. */
async function agentProject(
  name: string,
  steps: TestStep[],
  options: { port: number; dir?: string },
): Promise<{ dir: string; config: string; queueUrl: string; workflow: string }> {
  const dir = options.dir ?? mkdtempSync(join(base, `${name}-`));
  chmodSync(dir, 0o755);
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: uniqueName(`ferry-artifact-${name}`) }),
  );
  queues.push(QueueUrl!);
  const workflow = `artifact-${name}`;
  const manifest = join(dir, "manifest.json");
  writeFileSync(
    manifest,
    JSON.stringify(
      manifestOf(
        workflow,
        steps.map((s) => ({ site: "lab", ...s })),
      ),
    ),
  );
  const config = join(dir, "agent.yaml");
  writeFileSync(
    config,
    [
      "site: lab",
      "runtime: process",
      `queues: [{ url: '${QueueUrl}' }]`,
      `manifests: ['${manifest}']`,
      `workDir: ${join(dir, "work")}`,
      `metrics: { host: 127.0.0.1, port: ${options.port} }`,
      `aws: { region: ${awsClientConfig().region}, endpoint: '${localstackEndpoint()}' }`,
      "logLevel: info",
    ].join("\n"),
  );
  for (const file of [manifest, config]) chmodSync(file, 0o644);
  return { dir, config, queueUrl: QueueUrl!, workflow };
}

/** Runs one step through a real execution: the agent must answer its task token with the output. */
async function runStep(
  project: { workflow: string; queueUrl: string },
  step: string,
  input: unknown,
  agentOutput: () => string,
): Promise<unknown> {
  const { stateMachineArn } = await createOneStepMachine(sfn, {
    workflow: project.workflow,
    step,
    queueUrl: project.queueUrl,
  });
  const executionArn = await startExecution(sfn, stateMachineArn!, input);
  const done = await waitForExecution(sfn, executionArn, { timeoutMs: 180_000, pollMs: 250 });
  expect(
    done.status,
    `execution ${done.status}: ${await lastHistoryEvents(sfn, executionArn)}\nagent:\n${agentOutput()}`,
  ).toBe("SUCCEEDED");
  return JSON.parse(done.output!);
}

const ECHO_STEP = shStep("echo", 'read -r input; echo "{\\"got\\":$input}"');
const HANDLER_TS =
  "export async function handler(event: { input: { n: number } }): Promise<{ doubled: number; node: string }> {\n" +
  "  return { doubled: event.input.n * 2, node: process.version };\n}\n";

function functionStep(dir: string): TestStep {
  const file = join(dir, "double.ts");
  writeFileSync(file, HANDLER_TS);
  chmodSync(file, 0o644);
  return {
    name: "double",
    runtime: { kind: "function", handler: `${file}#handler`, file, exportName: "handler", env: {} },
  };
}

const agentEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  AWS_ACCESS_KEY_ID: awsClientConfig().credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: awsClientConfig().credentials.secretAccessKey,
});

describe.each([
  {
    label: "the bundle on the pinned Node",
    arch: HOST_ARCH,
    command: () => [join(REPO_ROOT, "node_modules", ".bin", "node"), join(DIST, "ferry-agent.mjs")],
    functions: true,
  },
  { label: `the ${HOST_ARCH} executable`, arch: HOST_ARCH, command: () => [sea(HOST_ARCH)], functions: true },
  {
    // As the Fargate image starts it: execPath is then the loader, and the agent starts itself through it.
    label: `the ${HOST_ARCH} executable through the dynamic loader`,
    arch: HOST_ARCH,
    command: () => [...LOADER[HOST_ARCH], sea(HOST_ARCH)],
    functions: true,
  },
  {
    // Its child processes would be this machine's: function steps start the agent again, process steps do not.
    label: `the ${HOST_ARCH === "x64" ? "arm64" : "x64"} executable under qemu-user-static`,
    arch: HOST_ARCH === "x64" ? ("arm64" as const) : ("x64" as const),
    command: () => {
      const other = HOST_ARCH === "x64" ? "arm64" : "x64";
      return [...EMULATORS[other], sea(other)];
    },
    functions: false,
  },
])("$label", ({ arch, command, functions }) => {
  it(`reports its version, on Node ${NODE_VERSION} for linux-${arch}`, () => {
    const [file, ...args] = command();
    const out = run(file!, [...args, "--version"]);
    expect(out).toMatchObject({ code: 0, stderr: "" });
    expect(out.stdout).toBe(`ferry-agent ${VERSION} (Node.js v${NODE_VERSION} linux-${arch})\n`);
  });

  it("polls a LocalStack queue and answers real task tokens; drains and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(base, `run-${arch}-`));
    const steps = [ECHO_STEP, ...(functions ? [functionStep(dir)] : [])];
    const project = await agentProject(`${arch}`, steps, { port, dir });
    // Under qemu-user without binfmt the kernel cannot execve the other architecture's executable, so the
    // agent's one restart with glibc's tunables (idle memory) is skipped the way an operator's own setting skips it.
    const env = arch === HOST_ARCH ? agentEnv() : { ...agentEnv(), GLIBC_TUNABLES: "" };
    const agent = start([...command(), "--config", project.config], env, project.dir);
    let exited = false;
    void agent.exit.then(() => {
      exited = true;
    });
    try {
      await healthy(port, { exited: () => exited, output: agent.output });
      // The one restart for idle memory happened: the same pid runs a program started with the
      // restart's environment (its marker; glibc rewrites GLIBC_TUNABLES in place as it reads it).
      if (arch === HOST_ARCH)
        expect(readFileSync(`/proc/${agent.child.pid}/environ`, "latin1").split("\0")).toContain(
          `${RESTART_MARKER}=1`,
        );
      expect(await runStep(project, "echo", { n: 7 }, agent.output)).toEqual({
        got: { input: { n: 7 }, deps: {} },
      });
      if (functions) {
        // A TypeScript handler, run by the agent starting itself as the function host.
        expect(await runStep(project, "double", { n: 21 }, agent.output)).toEqual({
          doubled: 42,
          node: `v${NODE_VERSION}`,
        });
      }
    } finally {
      agent.child.kill("SIGTERM");
    }
    expect(await agent.exit, agent.output()).toBe(0);
    expect(agent.output()).toContain('"msg":"agent stopped"');
  });
});

describe("the built executables", () => {
  it("are the official Node binaries of the pinned version with the agent injected, for both architectures", () => {
    for (const arch of ["x64", "arm64"] as const) {
      const header = readFileSync(sea(arch)).subarray(0, 20);
      expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      // e_machine: 0x3e x86-64, 0xb7 AArch64.
      expect(header.readUInt16LE(18)).toBe(arch === "x64" ? 0x3e : 0xb7);
      expect(readFileSync(sea(arch)).includes("NODE_SEA_BLOB")).toBe(true);
    }
  });
});

function account(root: string, file: "passwd" | "group", name: string): string[] | undefined {
  return readFileSync(join(root, "etc", file), "utf8")
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => f[0] === name);
}

/** What setup-host.sh leaves, in any root: users, config, credentials file, state folder. */
function expectPreparedHost(root: string): void {
  const ferry = account(root, "passwd", "ferry");
  const step = account(root, "passwd", "ferry-step");
  expect(ferry?.slice(5)).toEqual(["/var/lib/ferry", "/usr/sbin/nologin"]);
  expect(step?.slice(5)).toEqual(["/nonexistent", "/usr/sbin/nologin"]);
  expect(account(root, "group", "docker")?.[3]).toBe("ferry");
  const ferryGid = Number(account(root, "group", "ferry")?.[2]);
  const config = statSync(join(root, "etc", "ferry", "agent.yaml"));
  expect([config.mode & 0o777, config.uid, config.gid]).toEqual([0o640, 0, ferryGid]);
  expect(readFileSync(join(root, "etc", "ferry", "agent.yaml"), "utf8")).toBe(
    readFileSync(join(REPO_ROOT, "edge-agent", "install", "agent.example.yaml"), "utf8"),
  );
  const env = statSync(join(root, "etc", "ferry", "agent.env"));
  expect([env.mode & 0o777, env.uid, env.gid, env.size]).toEqual([0o600, 0, 0, 0]);
  const state = statSync(join(root, "var", "lib", "ferry"));
  expect([state.mode & 0o777, state.uid]).toEqual([0o711, Number(ferry?.[2])]);
}

/** systemd-analyze verify of the unit as installed under `root`, against this system's own units. */
function verifyUnit(root: string): { code: number | null; output: string } {
  cpSync("/usr/lib/systemd/system", join(root, "usr", "lib", "systemd", "system"), {
    recursive: true,
    force: false,
    errorOnExist: false,
  });
  const out = spawnSync("systemd-analyze", ["verify", `--root=${root}`, "ferry-agent.service"], {
    encoding: "utf8",
  });
  if (out.error) throw out.error;
  return { code: out.status, output: `${out.stdout}${out.stderr}` };
}

describe("the .deb", () => {
  for (const arch of ["x64", "arm64"] as const) {
    it(`ferry-agent_${VERSION}_${DEB_ARCH[arch]}.deb names its architecture and holds the ${arch} executable`, () => {
      const deb = join(DIST, `ferry-agent_${VERSION}_${DEB_ARCH[arch]}.deb`);
      const field = (name: string) =>
        execFileSync("dpkg-deb", ["--field", deb, name], { encoding: "utf8" }).trim();
      expect([field("Package"), field("Version"), field("Architecture")]).toEqual([
        "ferry-agent",
        VERSION,
        DEB_ARCH[arch],
      ]);
      const files = execFileSync("dpkg-deb", ["--contents", deb], { encoding: "utf8" })
        .split("\n")
        .filter((l) => !l.startsWith("d"))
        .map((l) => l.split(/\s+/).at(-1))
        .filter(Boolean)
        .sort();
      expect(files).toEqual([
        "./usr/bin/ferry-agent",
        "./usr/lib/ferry-agent/setup-host.sh",
        "./usr/lib/systemd/system/ferry-agent.service",
        "./usr/lib/systemd/system/ferry-engine-proxy.service",
        "./usr/share/doc/ferry-agent/INSTALL.md",
        "./usr/share/doc/ferry-agent/copyright",
        "./usr/share/ferry-agent/agent.example.yaml",
      ]);
      const extracted = mkdtempSync(join(base, `deb-x-${arch}-`));
      execFileSync("dpkg-deb", ["-x", deb, extracted]);
      expect(sha256(join(extracted, "usr", "bin", "ferry-agent"))).toBe(sha256(sea(arch)));
      expect(statSync(join(extracted, "usr", "bin", "ferry-agent")).mode & 0o777).toBe(0o755);
    });
  }

  it("installs into a throwaway root with its maintainer scripts: users, config and a unit systemd-analyze accepts", () => {
    const root = throwawayRoot(base, "deb-root");
    mkdirSync(join(root, "var", "lib", "dpkg", "info"), { recursive: true });
    mkdirSync(join(root, "var", "lib", "dpkg", "updates"));
    writeFileSync(join(root, "var", "lib", "dpkg", "status"), "");
    const deb = join(DIST, `ferry-agent_${VERSION}_${DEB_ARCH[HOST_ARCH]}.deb`);
    // Chrootless: the postinst runs here with DPKG_ROOT set, so it edits the throwaway root only.
    const out = run("dpkg", [`--root=${root}`, "--force-script-chrootless", "--log=/dev/null", "-i", deb]);
    expect(out.code, out.stderr).toBe(0);
    expect(sha256(join(root, "usr", "bin", "ferry-agent"))).toBe(sha256(sea(HOST_ARCH)));
    expectPreparedHost(root);
    expect(run(join(root, "usr", "bin", "ferry-agent"), ["--version"]).stdout).toContain(
      `ferry-agent ${VERSION}`,
    );
    expect(verifyUnit(root)).toEqual({ code: 0, output: "" });
    // Again, as an upgrade: nothing changes, the config is kept.
    writeFileSync(join(root, "etc", "ferry", "agent.yaml"), "site: mine\n");
    expect(
      run("dpkg", [`--root=${root}`, "--force-script-chrootless", "--log=/dev/null", "-i", deb]).code,
    ).toBe(0);
    expect(readFileSync(join(root, "etc", "ferry", "agent.yaml"), "utf8")).toBe("site: mine\n");
    expect(account(root, "passwd", "ferry")).toBeDefined();
  });
});

describe("install.sh --no-start", () => {
  it("installs an unpacked release into a throwaway root: the executable, the unit, users and config", () => {
    const unpacked = mkdtempSync(join(base, "release-"));
    const name = `ferry-agent-${VERSION}-linux-${HOST_ARCH}`;
    execFileSync("tar", ["-xzf", join(DIST, `${name}.tar.gz`), "-C", unpacked]);
    const root = throwawayRoot(base, "install-root");
    const out = run("bash", [join(unpacked, name, "install.sh"), "--no-start", "--root", root]);
    expect(out, out.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(out.stdout).toContain(`ferry-agent installed under ${root} (not started)`);
    expect(sha256(join(root, "usr", "bin", "ferry-agent"))).toBe(sha256(sea(HOST_ARCH)));
    expect(readFileSync(join(root, "etc", "systemd", "system", "ferry-agent.service"), "utf8")).toBe(
      readFileSync(join(REPO_ROOT, "edge-agent", "install", "ferry-agent.service"), "utf8"),
    );
    expectPreparedHost(root);
    expect(verifyUnit(root)).toEqual({ code: 0, output: "" });
  });

  it("installs the checkout's build when run from a checkout", () => {
    const root = throwawayRoot(base, "checkout-root");
    const out = run("bash", [
      join(REPO_ROOT, "edge-agent", "install", "install.sh"),
      "--no-start",
      "--root",
      root,
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(sha256(join(root, "usr", "bin", "ferry-agent"))).toBe(sha256(sea(HOST_ARCH)));
    expectPreparedHost(root);
  });

  it("refuses another architecture's executable, naming both", () => {
    const other = HOST_ARCH === "x64" ? "arm64" : "x64";
    const root = throwawayRoot(base, "wrong-arch");
    const out = run("bash", [
      join(REPO_ROOT, "edge-agent", "install", "install.sh"),
      "--no-start",
      "--root",
      root,
      "--binary",
      sea(other),
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`is the linux-${other} build; this machine needs linux-${HOST_ARCH}`);
    expect(() => statSync(join(root, "usr", "bin", "ferry-agent"))).toThrow();
  });
});

describe(`the ${IMAGE} image`, () => {
  it("holds the executable and the libraries it loads, and nothing else runs in it", () => {
    const version = run("docker", ["run", "--rm", "--network", "none", IMAGE, "--version"]);
    expect(version).toMatchObject({
      code: 0,
      stdout: `ferry-agent ${VERSION} (Node.js v${NODE_VERSION} linux-${HOST_ARCH})\n`,
    });
    const inspect = JSON.parse(execFileSync("docker", ["image", "inspect", IMAGE], { encoding: "utf8" }))[0];
    expect(inspect.Config.Entrypoint).toEqual(["/usr/bin/ferry-agent"]);
    expect(inspect.Config.User).toBe("10001:10001");
    // No shell: a step can only be what the agent itself runs.
    expect(
      run("docker", ["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", IMAGE, "-c", "true"])
        .code,
    ).not.toBe(0);
  });

  it("runs as an agent against LocalStack: a function step answered through a real execution, exit 0 on docker stop", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(base, "image-"));
    const project = await agentProject("image", [functionStep(dir)], { port, dir });
    // The agent's work folder inside the image, owned by its user.
    writeFileSync(
      project.config,
      readFileSync(project.config, "utf8").replace(/^workDir: .*$/m, "workDir: /var/lib/ferry/work"),
    );
    const name = uniqueName("ferry-artifact-image");
    containers.push(name);
    const agent = start(
      [
        "docker",
        "run",
        "--name",
        name,
        "--network",
        "host",
        "--volume",
        `${dir}:${dir}:ro`,
        "--env",
        `AWS_ACCESS_KEY_ID=${awsClientConfig().credentials.accessKeyId}`,
        "--env",
        `AWS_SECRET_ACCESS_KEY=${awsClientConfig().credentials.secretAccessKey}`,
        IMAGE,
        "--config",
        project.config,
      ],
      { PATH: process.env.PATH },
      dir,
    );
    let exited = false;
    void agent.exit.then(() => {
      exited = true;
    });
    try {
      await healthy(port, { exited: () => exited, output: agent.output });
      expect(await runStep(project, "double", { n: 4 }, agent.output)).toEqual({
        doubled: 8,
        node: `v${NODE_VERSION}`,
      });
    } finally {
      spawnSync("docker", ["stop", "--time", "60", name], { stdio: "ignore" });
    }
    expect(await agent.exit, agent.output()).toBe(0);
  });
});
