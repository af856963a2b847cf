import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatIdentity, groupMembers, identityOf, procStat, selfIdentity } from "./instance.ts";
import { AGENT_STATE_DIR, claimWorkDir, StepGroups } from "./orphans.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import { manifestOf, shStep } from "./testing/fixtures.ts";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already reaped by the test.
    }
  }
});

/** A detached group: a shell leading it and a sleeping child. */
async function startGroup(): Promise<ChildProcess> {
  const child = spawn("sh", ["-c", "sleep 300 & wait"], { detached: true, stdio: "ignore" });
  children.push(child);
  for (let i = 0; i < 100 && groupMembers(identityOf(child.pid!)!).length < 2; i++)
    await new Promise((r) => setTimeout(r, 10));
  return child;
}

function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

describe("StepGroups", () => {
  it("given a recorded group left running, when a new instance reaps, then every member is killed and the record removed", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "ferry-orphans-"));
    const child = await startGroup();
    const members = groupMembers(identityOf(child.pid!)!);
    expect(members).toHaveLength(2);
    await new StepGroups(workDir).started(child.pid!, { step: "nap", jobDir: join(workDir, "job-1-1-nap") });

    const reaped = await new StepGroups(workDir).reap();

    expect(reaped).toEqual([{ step: "nap", jobDir: join(workDir, "job-1-1-nap"), killed: 2 }]);
    expect(members.filter(alive)).toEqual([]);
    expect(readdirSync(join(workDir, AGENT_STATE_DIR, "groups"))).toEqual([]);
    rmSync(workDir, { recursive: true, force: true });
  });

  it("given a record whose pid now names another process, when reaping, then nothing is signalled", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "ferry-orphans-"));
    const child = await startGroup();
    const now = identityOf(child.pid!)!;
    const groups = join(workDir, AGENT_STATE_DIR, "groups");
    new StepGroups(workDir);
    // The recorded leader started earlier than the process that has its pid today: a reused pid.
    writeFileSync(
      join(groups, `${child.pid}.json`),
      JSON.stringify({ leader: { ...now, startTicks: now.startTicks - 1 }, step: "old", jobDir: "/x" }),
    );
    // And a record of this very test process, at another start time.
    const self = selfIdentity();
    writeFileSync(
      join(groups, `${self.pid}.json`),
      JSON.stringify({ leader: { ...self, startTicks: self.startTicks + 1 }, step: "old", jobDir: "/y" }),
    );

    const reaped = await new StepGroups(workDir).reap();

    expect(reaped.map((r) => r.killed)).toEqual([0, 0]);
    expect(groupMembers(now).filter(alive)).toHaveLength(2);
    rmSync(workDir, { recursive: true, force: true });
  });

  it("refuses a state folder others may write (a record names processes the agent kills)", () => {
    const workDir = mkdtempSync(join(tmpdir(), "ferry-orphans-"));
    mkdirSync(join(workDir, AGENT_STATE_DIR), { mode: 0o700 });
    chmodSync(join(workDir, AGENT_STATE_DIR), 0o770);
    expect(() => new StepGroups(workDir)).toThrow(
      /must be a folder owned by the agent's user with mode 0700/,
    );
    rmSync(workDir, { recursive: true, force: true });
  });

  it("the process runtime records a step's group while it runs and removes the record when it ends", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "ferry-orphans-"));
    const groups = new StepGroups(workDir);
    const seen: string[][] = [];
    const runtime = new ProcessRuntime({
      groups: {
        started: async (pid, info) => {
          await groups.started(pid, info);
          seen.push(readdirSync(join(workDir, AGENT_STATE_DIR, "groups")));
        },
        ended: (pid) => groups.ended(pid),
      },
    });
    const jobDir = join(workDir, "job");
    mkdirSync(jobDir);
    const result = await runtime.run({
      step: manifestOf("w", [shStep("s", "echo '{}'")]).steps.s!,
      input: { input: {}, deps: {} },
      inputJson: "{}",
      jobFiles: { bucket: "b", prefix: "w/e/" },
      jobDir,
      env: {},
      signal: new AbortController().signal,
      logCapBytes: 1024,
    });
    expect(result.exitCode).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toMatch(/^\d+\.json$/);
    expect(readdirSync(join(workDir, AGENT_STATE_DIR, "groups"))).toEqual([]);
    rmSync(workDir, { recursive: true, force: true });
  });
});

describe("claimWorkDir", () => {
  it("refuses a work folder a live agent holds, and takes one whose holder is dead", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "ferry-claim-"));
    const other = await startGroup();
    mkdirSync(join(workDir, AGENT_STATE_DIR), { mode: 0o700 });
    writeFileSync(join(workDir, AGENT_STATE_DIR, "instance"), formatIdentity(identityOf(other.pid!)!));
    expect(() => claimWorkDir(workDir)).toThrow(/is in use by another agent \(pid \d+\)/);

    process.kill(-other.pid!, "SIGKILL");
    await new Promise((r) => other.once("exit", r));
    const claim = claimWorkDir(workDir);
    expect(claim.previous?.pid).toBe(other.pid);
    claim.release();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("refuses a second agent instance of this process the folder, through any spelling, until the first releases it", () => {
    // Given one instance's claim
    const workDir = mkdtempSync(join(tmpdir(), "ferry-claim-"));
    const link = `${workDir}-link`;
    symlinkSync(workDir, link);
    const first = claimWorkDir(workDir);
    // When a second instance of the same process claims it, directly or through a symbolic link
    // Then it is refused: it would reap the first one's live step groups
    expect(() => claimWorkDir(workDir)).toThrow(/is in use by another agent \(pid \d+, this process\)/);
    expect(() => claimWorkDir(link)).toThrow(/is in use by another agent/);
    // Once released, the folder is free again, also for an agent of another process
    first.release();
    expect(existsSync(join(workDir, AGENT_STATE_DIR, "instance"))).toBe(false);
    const second = claimWorkDir(link);
    expect(second.previous).toBeUndefined();
    expect(readFileSync(join(workDir, AGENT_STATE_DIR, "instance"), "utf8")).toBe(
      formatIdentity(selfIdentity()),
    );
    second.release();
    rmSync(link);
    rmSync(workDir, { recursive: true, force: true });
  });
});
