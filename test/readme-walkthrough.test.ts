/**
 * The README's "Deploy to LocalStack or AWS" walkthrough, run as written
 * against LocalStack: the shell block's lines are read from README.md and run
 * with bash in a throwaway project (a copy of the examples, with this
 * checkout's node_modules and dist/), in the environment the README names
 * for LocalStack. Nothing is rewritten except the lines marked
 * `# on the device`, which must not touch this machine:
 * - their `/etc/ferry/` paths and `install.sh`'s system are a throwaway root
 *   (`install.sh --root DIR`, which the README's `--no-start` install
 *   otherwise matches);
 * - `sudo` runs its command as is (this test runs as root; the machine may
 *   have no sudo);
 * - `systemctl start ferry-agent` (no systemd runs here) is replaced by what
 *   systemd would run: the installed unit's ExecStart, its EnvironmentFile
 *   and WorkingDirectory, all under the root. Only the state folder
 *   (FERRY_WORK_DIR) is moved under the root too, and the metrics port
 *   is 0, as other agents may share this machine.
 * The tarball is the one `npm run build:agent` makes (built here by
 * test/env/build-agent-artifacts.sh, which remakes only what changed).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack, requireTestImage } from "./support/env.ts";
import { eventually, REPO_ROOT } from "./support/ferry-cli.ts";
import { destroySpec, exampleProject, ferryEnv, runSuffix } from "./support/localstack-ferry.ts";
import { throwawayRoot } from "./support/throwaway-root.ts";

const DEVICE = "# on the device";
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const suffix = runSuffix();
const project = exampleProject(suffix);
const dir = project.dir;
let spec: string;
let root: string;
let agent: ReturnType<typeof spawn> | undefined;
let agentOutput = "";
const agentExit = { code: undefined as number | null | undefined };

/** The shell block of the README section, one command a line. */
function walkthrough(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Deploy to LocalStack or AWS\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README.md: no shell block under 'Deploy to LocalStack or AWS'");
  return block.split("\n").filter((l) => l.trim() !== "");
}

/** A device line, pointed at the throwaway root. */
function onDevice(line: string): string {
  return line
    .replaceAll(" /etc/ferry/", ' "$FERRY_DEVICE_ROOT"/etc/ferry/')
    .replace(/install\.sh --no-start/, 'install.sh --no-start --root "$FERRY_DEVICE_ROOT"');
}

/** The README's LocalStack environment, plus `sudo` standing in and the root the device lines use. */
function shellEnv(): NodeJS.ProcessEnv {
  const bin = join(dir, ".test-bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "sudo"), '#!/bin/sh\nexec "$@"\n');
  chmodSync(join(bin, "sudo"), 0o755);
  return {
    ...process.env,
    ...ferryEnv(),
    PATH: `${bin}:${process.env.PATH}`,
    FERRY_DEVICE_ROOT: root,
  };
}

function runLines(lines: string[]): { code: number | null; stdout: string; stderr: string } {
  const out = spawnSync("bash", ["-euo", "pipefail", "-c", lines.join("\n")], {
    cwd: dir,
    env: shellEnv(),
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** What systemd would start for the installed unit, under the root. */
function startInstalledUnit(): void {
  const unit = readFileSync(join(root, "etc", "systemd", "system", "ferry-agent.service"), "utf8");
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(unit)?.[1];
  const [command, ...args] = field("ExecStart")!
    .split(" ")
    .map((a) => (a.startsWith("/") ? join(root, a) : a));
  const envFile = join(root, field("EnvironmentFile")!.replace(/^-/, ""));
  const env = Object.fromEntries(
    readFileSync(envFile, "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  agent = spawn(command!, args, {
    cwd: join(root, field("WorkingDirectory")!),
    env: {
      PATH: process.env.PATH,
      ...env,
      FERRY_WORK_DIR: join(root, "var", "lib", "ferry", "work"),
      FERRY_METRICS_PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agent.stdout!.on("data", (c: Buffer) => {
    agentOutput += c;
  });
  agent.stderr!.on("data", (c: Buffer) => {
    agentOutput += c;
  });
  agent.on("close", (code) => {
    agentExit.code = code;
  });
}

beforeAll(async () => {
  await requireLocalStack();
  await requireTestImage();
  // Idempotent: remakes only what changed since the last build.
  execFileSync("bash", [join(REPO_ROOT, "test", "env", "build-agent-artifacts.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  spec = project.spec("edge-device");
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(REPO_ROOT, "dist"), join(dir, "dist"));
  const base = mkdtempSync(join(tmpdir(), "ferry-walkthrough-"));
  chmodSync(base, 0o755);
  root = throwawayRoot(base, "device");
}, 1_800_000);

afterAll(async () => {
  if (agent && agentExit.code === undefined) {
    agent.kill("SIGTERM");
    await eventually(() => (agentExit.code !== undefined ? true : undefined), "the agent to exit", 60_000);
  }
  // The walkthrough destroys the stack itself; this only cleans up after a failure.
  if (spec) await destroySpec(dir, spec);
}, 300_000);

describe("the README walkthrough", () => {
  it("deploys, installs the agent from its tarball, runs the workflow, shows its status and destroys it", async () => {
    const lines = walkthrough();
    const start = lines.findIndex((l) => /systemctl start ferry-agent/.test(l));
    expect(start).toBeGreaterThan(0);
    expect(lines[start]).toContain(DEVICE);
    const prepare = lines.slice(0, start).map((l) => (l.includes(DEVICE) ? onDevice(l) : l));
    const rest = lines.slice(start + 1);
    expect(rest.some((l) => l.includes(DEVICE))).toBe(false);

    // Given the stack deployed and the agent installed from the release tarball
    const prepared = runLines(prepare);
    expect(prepared.code, `${prepared.stdout}\n${prepared.stderr}`).toBe(0);
    expect(prepared.stdout).toMatch(new RegExp(`created stack ferry-edge-device-${suffix}`));
    expect(prepared.stdout).toContain(`ferry-agent installed under ${root} (not started)`);
    // The installed agent is the executable the build made, byte for byte.
    expect(sha256(join(root, "usr", "bin", "ferry-agent"))).toBe(
      sha256(join(REPO_ROOT, "dist", "agent", "linux-x64", "ferry-agent")),
    );
    const config = JSON.parse(readFileSync(join(root, "etc", "ferry", "agent.yaml"), "utf8")) as {
      site: string;
      aws: { endpoint?: string };
    };
    expect(config).toMatchObject({ site: "device", aws: { endpoint: ferryEnv().AWS_ENDPOINT_URL } });
    expect(readFileSync(join(root, "etc", "ferry", "agent.env"), "utf8")).toMatch(/^AWS_ACCESS_KEY_ID=/);

    // When the installed agent starts as its unit says, and the rest of the lines run
    startInstalledUnit();
    await eventually(
      () => {
        if (agentExit.code !== undefined) throw new Error(`the agent exited:\n${agentOutput}`);
        return agentOutput.includes("agent running") ? true : undefined;
      },
      "the installed agent to start",
      60_000,
    );
    const ran = runLines(rest);

    // Then the execution SUCCEEDED with the second container's reading of the job file
    expect(ran.code, `${ran.stdout}\n${ran.stderr}\n${agentOutput}`).toBe(0);
    const [arn, ...outputLines] = ran.stdout.split("\n");
    expect(arn).toMatch(new RegExp(`^arn:aws:states:us-east-1:\\d+:execution:edge-device-${suffix}-root-`));
    expect(outputLines.join("\n")).toContain(JSON.stringify({ report: { max: "23.5", lines: 3 } }));
    // And ferry status showed both steps succeeded
    expect(ran.stdout).toMatch(/^status\s+SUCCEEDED\s/m);
    expect(ran.stdout).toMatch(/^measure\s+succeeded\s+1\s/m);
    expect(ran.stdout).toMatch(/^report\s+succeeded\s+1\s/m);
    // And the stack is gone
    expect(`${ran.stdout}\n${ran.stderr}`).toMatch(/deleted stack ferry-edge-device-/);
    // And the agent (the only one serving the device's queue) drains on SIGTERM, as `systemctl stop` sends it
    agent!.kill("SIGTERM");
    await eventually(() => (agentExit.code !== undefined ? true : undefined), "the agent to exit", 60_000);
    expect(agentExit.code, agentOutput).toBe(0);
  }, 900_000);
});
