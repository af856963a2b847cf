import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STEP_USER_CAPABILITIES } from "@ferry/edge-agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestOf, shStep, stepMessage, type TestStep } from "../../edge-agent/src/testing/fixtures.ts";
import { FERRY_BIN, REPO_ROOT } from "../support/ferry-cli.ts";
import {
  asUserWithCaps,
  createSystemUser,
  openPathToRepository,
  removeSystemUser,
  requireUserSwitching,
  type SystemUser,
  UNIT_FILE,
  unitSettings,
} from "../support/step-users.ts";

// Step isolation (`steps.user`): an agent running as an unprivileged user with
// only the capabilities the shipped unit grants, fake AWS credentials in its
// environment and in a 0600 credentials file, runs hostile process and
// function steps as a dedicated step user. Whatever they try, they never see
// the credentials, the agent's files or its capabilities.

const SECRET_KEY = `fsk${randomBytes(18).toString("hex")}`;
const SESSION_TOKEN = `fst${randomBytes(18).toString("hex")}`;
const ACCESS_KEY = `AKIA${randomBytes(8).toString("hex").toUpperCase()}`;
const SECRETS = [SECRET_KEY, SESSION_TOKEN, ACCESS_KEY];

let setpriv: string;
let agentUser: SystemUser | undefined;
let stepUser: SystemUser | undefined;
let base: string;
let closePathToRepository: (() => void) | undefined;

beforeAll(() => {
  setpriv = requireUserSwitching();
  // The agent runs as a test user and loads Ferry from this checkout.
  closePathToRepository = openPathToRepository();
  agentUser = createSystemUser("fsec-agent");
  stepUser = createSystemUser("fsec-step");
  base = mkdtempSync(join(tmpdir(), "ferry-sec-env-"));
  chmodSync(base, 0o711);
});

afterAll(() => {
  closePathToRepository?.();
  if (base) rmSync(base, { recursive: true, force: true });
  removeSystemUser(agentUser);
  removeSystemUser(stepUser);
});

/** The capabilities and no_new_privs the shipped unit gives the agent. */
function unitCapabilities(): { ambient: string[]; bounding: string[]; noNewPrivs: boolean; user: string } {
  const unit = unitSettings();
  const list = (key: string) => (unit.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
  return {
    ambient: list("AmbientCapabilities"),
    bounding: list("CapabilityBoundingSet"),
    noNewPrivs: unit.get("NoNewPrivileges")?.at(-1) === "yes",
    user: unit.get("User")?.at(-1) ?? "",
  };
}

function chownTo(path: string, user: SystemUser, mode: number): void {
  chownSync(path, user.uid, user.gid);
  chmodSync(path, mode);
}

describe("the shipped systemd unit", () => {
  it("gives a non-root agent exactly the capabilities switching to the step user needs, with no_new_privs", () => {
    const unit = unitCapabilities();
    expect(unit.user).toBe("ferry");
    expect([...unit.ambient].sort()).toEqual([...STEP_USER_CAPABILITIES].sort());
    expect([...unit.bounding].sort()).toEqual([...STEP_USER_CAPABILITIES].sort());
    expect(unit.noNewPrivs).toBe(true);
    // Steps traverse the state folder to their job folder, and cannot list it.
    expect(unitSettings().get("StateDirectoryMode")).toEqual(["0711"]);
    // The users and files install.sh and the .deb's postinst both make (setup-host.sh; run in test/agent-artifact.test.ts).
    const setup = readFileSync(join(REPO_ROOT, "edge-agent", "install", "setup-host.sh"), "utf8");
    expect(setup).toMatch(/useradd [^\n]*--system[^\n]* ferry\n/);
    expect(setup).toMatch(/useradd [^\n]*--system[^\n]* ferry-step\n/);
    expect(setup).toContain('install -m 0600 /dev/null "$root/etc/ferry/agent.env"');
    // The unit runs the self-contained executable that install.sh and the .deb put there.
    expect(unitSettings().get("ExecStart")).toEqual(["/usr/bin/ferry-agent --config /etc/ferry/agent.yaml"]);
    const example = readFileSync(join(REPO_ROOT, "edge-agent", "install", "agent.example.yaml"), "utf8");
    expect(example).toMatch(/steps: \{ user: ferry-step \}/);
    expect(UNIT_FILE).toContain("ferry-agent.service");
  });
});

describe("ferry agent with steps.user but no way to switch users", () => {
  it("refuses to start, naming the missing capabilities, before it polls anything", async () => {
    const dir = mkdtempSync(join(base, "nocaps-"));
    chownTo(dir, agentUser!, 0o700);
    const manifest = join(dir, "manifest.json");
    writeFileSync(manifest, JSON.stringify(manifestOf("nocaps", [shStep("s", "true")])));
    const config = join(dir, "agent.yaml");
    writeFileSync(
      config,
      [
        "site: edge",
        "runtime: process",
        "queues: [{ url: 'http://127.0.0.1:9/000000000000/never-polled' }]",
        `manifests: ['${manifest}']`,
        `workDir: ${join(dir, "work")}`,
        "metrics: { port: 0 }",
        `steps: { user: ${stepUser!.name} }`,
      ].join("\n"),
    );
    for (const f of [manifest, config]) chownTo(f, agentUser!, 0o600);
    const { code, stderr } = await runChild(
      setpriv,
      [...asUserWithCaps(agentUser!, [], true), process.execPath, FERRY_BIN, "agent", "--config", config],
      { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`steps.user is "${stepUser!.name}"`);
    expect(stderr).toContain(`lacks ${STEP_USER_CAPABILITIES.join(", ")}`);
    // It stopped before creating its work folder, let alone running anything.
    expect(readdirSync(dir).sort()).toEqual(["agent.yaml", "manifest.json"]);
  });
});

describe("hostile steps under a step user, against an agent holding credentials", () => {
  let result: {
    agentPid: number;
    answers: {
      step: string;
      record: { kind: string; output?: unknown; error?: string; cause?: string } | null;
    }[];
    attempts: { step: string; stdout: string; stderr: string; exitCode: number | null }[];
  };
  let agentLogs: string;
  let workDir: string;

  beforeAll(async () => {
    const agentHome = join(base, "agent");
    mkdirSync(agentHome);
    chownTo(agentHome, agentUser!, 0o711);
    const credentials = join(agentHome, "agent.env");
    writeFileSync(credentials, `AWS_ACCESS_KEY_ID=${ACCESS_KEY}\nAWS_SECRET_ACCESS_KEY=${SECRET_KEY}\n`);
    chownTo(credentials, agentUser!, 0o600);
    const config = join(agentHome, "agent.yaml");
    writeFileSync(config, `site: edge\n# secret: ${SECRET_KEY}\n`);
    chownTo(config, agentUser!, 0o600);
    // A cache an older agent left world-readable: the agent makes it its own again at start.
    const cacheDir = join(agentHome, "cache");
    mkdirSync(cacheDir);
    writeFileSync(join(cacheDir, "entry"), `cached ${SECRET_KEY}`);
    chownTo(join(cacheDir, "entry"), agentUser!, 0o644);
    chownTo(cacheDir, agentUser!, 0o755);
    workDir = join(agentHome, "work");
    const filesDir = join(agentHome, "files");
    const inputDir = join(filesDir, "hostile", "exec-1", "edge");
    mkdirSync(inputDir, { recursive: true });
    writeFileSync(join(inputDir, "in.txt"), "ferry");
    execFileSync("chown", ["-R", `${agentUser!.uid}:${agentUser!.gid}`, filesDir]);
    chmodSync(filesDir, 0o700);
    const projectDir = join(base, "project");
    mkdirSync(projectDir);
    chmodSync(projectDir, 0o755);
    writeFileSync(
      join(projectDir, "hostile.mjs"),
      `import { readFileSync } from "node:fs";
      const attempt = (path) => { try { return "READ " + readFileSync(path, "utf8"); } catch (error) { return error.code; } };
      // The agent: the parent, or the parent's parent when a spawner helper (a bare \`node … -e\`) started the step.
      const parentOf = (pid) => Number(readFileSync("/proc/" + pid + "/stat", "utf8").split(") ")[1].split(" ")[1]);
      const agentPid = readFileSync("/proc/" + process.ppid + "/cmdline", "utf8").split("\\0").includes("-e") ? parentOf(process.ppid) : process.ppid;
      export async function handler() {
        return {
          awsVariables: Object.keys(process.env).filter((k) => k.startsWith("AWS_")),
          selfEnvironHasAws: readFileSync("/proc/self/environ", "utf8").includes("AWS_"),
          parentEnviron: attempt("/proc/" + agentPid + "/environ"),
          credentials: attempt(process.env.CREDS),
          config: attempt(process.env.CONFIG),
          uid: process.getuid(),
          ppid: agentPid,
          capEff: /CapEff:\\s*(\\S+)/.exec(readFileSync("/proc/self/status", "utf8"))[1],
        };
      }
      export async function thrower() {
        throw new Error("found: " + attempt("/proc/" + agentPid + "/environ") + " " + attempt(process.env.CREDS));
      }\n`,
    );
    chmodSync(join(projectDir, "hostile.mjs"), 0o644);

    const env = { CREDS: credentials, CONFIG: config, WORK: workDir, CACHE: cacheDir, AGENT_HOME: agentHome };
    const probe = `
      # The agent: the parent, or the parent's parent when a spawner helper (a bare \`node … -e\`) started the step.
      AGENT=$PPID
      if tr '\\0' '\\n' < /proc/$PPID/cmdline | grep -qx -- -e; then AGENT=$(sed 's/.*) //' /proc/$PPID/stat | cut -d' ' -f2); fi
      try() { if "$@" >/dev/null 2>&1; then echo '"ALLOWED"'; else echo '"denied"'; fi; }
      # Whatever is readable goes to stdout and stderr, where a leak would show in the logs.
      for f in /proc/$AGENT/environ /proc/$AGENT/cmdline "$CREDS" "$CONFIG" "$CACHE"/entry; do tr '\\0' '\\n' < "$f"; done
      ls -la "$WORK" "$CACHE" "$AGENT_HOME"
      scan=0; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" 2>/dev/null | grep -q '^AWS_SECRET_ACCESS_KEY=' && scan=$((scan+1)); done
      printf '{"ppid":%s,"uid":%s,"groups":"%s","user":"%s","home":"%s","capEff":"%s","capAmb":"%s","noNewPrivs":"%s",' \\
        "$AGENT" "$(id -u)" "$(id -G)" "$USER" "$HOME" \\
        "$(awk '/^CapEff/{print $2}' /proc/self/status)" "$(awk '/^CapAmb/{print $2}' /proc/self/status)" \\
        "$(awk '/^NoNewPrivs/{print $2}' /proc/self/status)"
      printf '"awsVariables":%s,"selfEnvironAws":%s,"environsWithSecrets":%s,' \\
        "$(env | grep -c '^AWS_')" "$(tr '\\0' '\\n' < /proc/self/environ | grep -c '^AWS_')" "$scan"
      printf '"parentEnviron":%s,"parentFds":%s,"parentCmdlineHasSecret":%s,"credentials":%s,"config":%s,' \\
        "$(try cat /proc/$AGENT/environ)" "$(try ls /proc/$AGENT/fd)" \\
        "$(tr '\\0' ' ' < /proc/$AGENT/cmdline | grep -q 'AWS_' && echo true || echo false)" \\
        "$(try cat "$CREDS")" "$(try cat "$CONFIG")"
      printf '"cacheList":%s,"cacheEntry":%s,"workList":%s,"workWrite":%s,"agentHomeList":%s,' \\
        "$(try ls "$CACHE")" "$(try cat "$CACHE/entry")" "$(try ls "$WORK")" "$(try touch "$WORK/planted")" "$(try ls "$AGENT_HOME")"
      printf '"signalAgent":%s,"becomeAgent":%s,"becomeRoot":%s}\\n' \\
        "$(try kill -0 $AGENT)" "$(try setpriv --reuid=${agentUser!.uid} true)" "$(try setpriv --reuid=0 true)"
    `;
    const steps: TestStep[] = [
      shStep("probe", probe, {}),
      shStep(
        "leaky-failure",
        `cat /proc/$PPID/environ /proc/$(sed 's/.*) //' /proc/$PPID/stat | cut -d' ' -f2)/environ "$CREDS" "$CACHE/entry"; exit 3`,
      ),
      shStep(
        "files",
        `tr a-z A-Z < "$FERRY_JOB_DIR/in.txt" > "$FERRY_JOB_DIR/out.txt"
        mkdir -p "$FERRY_JOB_DIR/deep/er" && touch "$FERRY_JOB_DIR/deep/er/f" && chmod 0 "$FERRY_JOB_DIR/deep/er" "$FERRY_JOB_DIR/deep"
        if echo more >> "$FERRY_JOB_DIR/in.txt" 2>/dev/null; then w=true; else w=false; fi
        echo "{\\"inputWritable\\":$w,\\"jobDirMode\\":\\"$(stat -c %a "$FERRY_JOB_DIR")\\"}"`,
        { inputs: ["in.txt"], outputs: ["out.txt"] },
      ),
      shStep("slow", "sleep 30", { timeoutSeconds: 1 }),
      {
        name: "function",
        runtime: {
          kind: "function",
          handler: "hostile.mjs#handler",
          file: "hostile.mjs",
          exportName: "handler",
          env: {},
        },
      },
      {
        name: "function-throws",
        runtime: {
          kind: "function",
          handler: "hostile.mjs#thrower",
          file: "hostile.mjs",
          exportName: "thrower",
          env: {},
        },
      },
    ];
    for (const step of steps) if (step.runtime.kind !== "http") Object.assign(step.runtime, { env });
    const plan = join(base, "plan.json");
    writeFileSync(
      plan,
      JSON.stringify({
        stepUser: stepUser!.name,
        workDir,
        cacheDir,
        projectDir,
        filesDir,
        steps,
        messages: steps.map((s) => stepMessage({ workflow: "hostile", step: s.name })),
      }),
    );
    chmodSync(plan, 0o644);

    const unit = unitCapabilities();
    const child = await runChild(
      setpriv,
      [
        ...asUserWithCaps(agentUser!, unit.ambient, unit.noNewPrivs),
        process.execPath,
        "--import",
        "tsx",
        join(import.meta.dirname, "step-user-worker.ts"),
        plan,
      ],
      {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: agentHome,
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_SESSION_TOKEN: SESSION_TOKEN,
      },
      REPO_ROOT,
    );
    agentLogs = child.stderr;
    if (child.code !== 0) throw new Error(`the worker exited ${child.code}:\n${child.stderr.slice(-4000)}`);
    result = JSON.parse(child.stdout.trim().split("\n").at(-1)!);
  });

  const answer = (step: string) => result.answers.find((a) => a.step === step)!.record!;

  it("answered every step", () => {
    expect(result.answers.map((a) => [a.step, a.record?.kind])).toEqual([
      ["probe", "success"],
      ["leaky-failure", "failure"],
      ["files", "success"],
      ["slow", "failure"],
      ["function", "success"],
      ["function-throws", "failure"],
    ]);
  });

  it("a process step cannot read the agent's environment, credentials, config, cache or work folder", () => {
    expect(answer("probe").output).toEqual({
      ppid: result.agentPid,
      uid: stepUser!.uid,
      groups: String(stepUser!.gid),
      user: stepUser!.name,
      home: "/nonexistent",
      capEff: "0000000000000000",
      capAmb: "0000000000000000",
      noNewPrivs: "1",
      awsVariables: 0,
      selfEnvironAws: 0,
      environsWithSecrets: 0,
      parentEnviron: "denied",
      parentFds: "denied",
      parentCmdlineHasSecret: false,
      credentials: "denied",
      config: "denied",
      cacheList: "denied",
      cacheEntry: "denied",
      workList: "denied",
      workWrite: "denied",
      agentHomeList: "denied",
      signalAgent: "denied",
      becomeAgent: "denied",
      becomeRoot: "denied",
    });
  });

  it("a failing step's cause shows the refusals, never the secrets", () => {
    const record = answer("leaky-failure");
    expect(record.cause).toMatch(/code 3/);
    expect(record.cause).toMatch(/Permission denied/);
  });

  it("the job folder is the step's to write, staged inputs stay read-only, and it is emptied after", () => {
    expect(answer("files").output).toEqual({ inputWritable: false, jobDirMode: "770" });
    const out = readFileSync(join(base, "agent", "files", "hostile", "exec-1", "edge", "out.txt"), "utf8");
    expect(out).toBe("FERRY");
    // Folders kept for reuse are empty, whatever the step left in them (a 0000 folder included).
    for (const name of readdirSync(workDir)) expect(readdirSync(join(workDir, name))).toEqual([]);
  });

  it("the agent still stops a step running as another user", () => {
    expect(answer("slow")).toMatchObject({ kind: "failure", error: "Ferry.Timeout" });
  });

  it("a function step sees no AWS variables and cannot read the agent's environment or credentials", () => {
    expect(answer("function").output).toEqual({
      awsVariables: [],
      selfEnvironHasAws: false,
      parentEnviron: "EACCES",
      credentials: "EACCES",
      config: "EACCES",
      uid: stepUser!.uid,
      ppid: result.agentPid,
      capEff: "0000000000000000",
    });
    expect(answer("function-throws").cause).toContain("found: EACCES EACCES");
  });

  it("no answer, step log or agent log holds a secret", () => {
    const everything = JSON.stringify(result) + agentLogs;
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    // The steps did try: their refusals are in the logs.
    expect(
      result.attempts.find((a) => a.step === "probe")!.stdout +
        result.attempts.find((a) => a.step === "probe")!.stderr,
    ).toMatch(/Permission denied/);
  });
});

/** Runs a process to its end (bounded), with exactly `env`. */
function runChild(
  file: string,
  args: string[],
  env: Record<string, string>,
  cwd = base,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
