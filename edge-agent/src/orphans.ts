import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "@ferry/functions/worker";
import { AgentError } from "./errors.ts";
import {
  formatIdentity,
  groupMembers,
  identityOf,
  isAlive,
  type ProcessIdentity,
  parseIdentity,
  procStat,
  selfIdentity,
} from "./instance.ts";

/** Folder under the work folder holding the agent's own state (never the steps'). */
export const AGENT_STATE_DIR = ".agent";

/**
 * Told when a step's process group starts and when it is gone (the process
 * runtime calls it). Asynchronous, so a step start never blocks the event
 * loop on the disk; `ended` is called only after `started` settled.
 */
export interface StepGroupRecorder {
  started(pid: number, info: { step: string; jobDir: string }): Promise<void>;
  ended(pid: number): Promise<void>;
}

/** A process group a previous agent instance recorded, as found at start. */
export interface ReapedGroup {
  step: string;
  jobDir: string;
  /** Processes that were still running and were killed. */
  killed: number;
}

interface GroupRecord {
  leader: ProcessIdentity;
  step: string;
  jobDir: string;
}

/**
 * One file per running step process group, so that an agent restarted after
 * SIGKILL or power loss can stop what its predecessor left running. Each
 * record is written atomically (temporary file, then rename) once the
 * process is spawned, and removed once its group is gone. The folder is the
 * agent's alone (0700): a record names processes the agent will kill, so a
 * step (as another user) must never be able to write one.
 */
export class StepGroups implements StepGroupRecorder {
  private readonly dir: string;

  constructor(workDir: string) {
    this.dir = join(workDir, AGENT_STATE_DIR, "groups");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    assertPrivateDir(join(workDir, AGENT_STATE_DIR));
    assertPrivateDir(this.dir);
  }

  async started(pid: number, info: { step: string; jobDir: string }): Promise<void> {
    const leader = identityOf(pid);
    // Already gone (it exited at once): nothing can be left behind.
    if (!leader) return;
    const record: GroupRecord = { leader, ...info };
    const file = join(this.dir, `${pid}.json`);
    await writeFile(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async ended(pid: number): Promise<void> {
    try {
      await unlink(join(this.dir, `${pid}.json`));
    } catch {
      // Left behind, the record is harmless: its leader's start time no longer matches anything alive.
    }
  }

  /**
   * Kills (SIGKILL) every recorded group that still has members and removes
   * the records. A pid that now names another process is never signalled
   * (see {@link groupMembers}). Call at start, before any step runs.
   */
  async reap(): Promise<ReapedGroup[]> {
    const reaped: ReapedGroup[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      if (!name.endsWith(".json")) {
        rmSync(file, { force: true });
        continue;
      }
      const record = parseRecord(readFileSync(file, "utf8"));
      if (record)
        reaped.push({ step: record.step, jobDir: record.jobDir, killed: await kill(record.leader) });
      unlinkSync(file);
    }
    return reaped;
  }
}

async function kill(leader: ProcessIdentity): Promise<number> {
  const members = groupMembers(leader).filter(running);
  if (members.length === 0) return 0;
  // The leader is the one we started: signal the whole group at once; else each member found.
  const targets = isAlive(leader) ? [-leader.pid] : members;
  for (const target of targets) {
    try {
      process.kill(target, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  // SIGKILL is not instant: wait until the job folder is no longer held.
  for (let i = 0; i < 100 && groupMembers(leader).some(running); i++) await sleep(20);
  return members.length;
}

/** Zombies hold no files and run nothing. */
function running(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

function parseRecord(text: string): GroupRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<GroupRecord>;
    const leader = value.leader;
    if (
      leader &&
      Number.isInteger(leader.pid) &&
      leader.pid > 1 &&
      Number.isInteger(leader.startTicks) &&
      typeof leader.bootId === "string" &&
      typeof value.step === "string" &&
      typeof value.jobDir === "string"
    )
      return { leader, step: value.step, jobDir: value.jobDir };
  } catch {
    // A record torn by power loss: the rename makes that unlikely, and there is nothing to act on.
  }
  return undefined;
}

function assertPrivateDir(dir: string): void {
  const stats = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o077) !== 0) {
    throw new AgentError(
      "CONFIG_INVALID",
      `${dir} must be a folder owned by the agent's user with mode 0700 (found ${stats.isDirectory() ? `mode ${(stats.mode & 0o7777).toString(8)}, owner ${stats.uid}` : "no folder"}) — remove it and restart the agent`,
    );
  }
}

/** Work folders held by live agent instances of this process: the instance file's pid cannot tell them apart. */
const claimedInProcess = new Set<string>();

/** An agent instance's hold on its work folder. */
export interface WorkDirClaim {
  /** The previous holder, which is dead, if there was one. */
  previous: ProcessIdentity | undefined;
  /** Gives the folder up (at the agent's stop), so that another agent may claim it. */
  release(): void;
}

/**
 * Claims the work folder for this agent instance: refuses when another live
 * agent holds it, in another process or in this one (two agents on one
 * folder would reap each other's steps), and says who held it before, who
 * is dead, if anyone did.
 */
export function claimWorkDir(workDir: string): WorkDirClaim {
  const stateDir = join(workDir, AGENT_STATE_DIR);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  assertPrivateDir(stateDir);
  // Two spellings of one folder (a symbolic link, a relative path) are one claim.
  const folder = realpathSync(workDir);
  const file = join(stateDir, "instance");
  let previous: ProcessIdentity | undefined;
  try {
    previous = parseIdentity(readFileSync(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const self = selfIdentity();
  const heldHere = claimedInProcess.has(folder);
  if (heldHere || (previous && previous.pid !== self.pid && isAlive(previous))) {
    throw new AgentError(
      "CONFIG_INVALID",
      `work folder ${workDir} is in use by another agent (pid ${heldHere ? self.pid : previous!.pid}${heldHere ? ", this process" : ""}) — stop it, or give each agent its own workDir`,
    );
  }
  writeFileSync(`${file}.tmp`, formatIdentity(self), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  claimedInProcess.add(folder);
  let held = true;
  return {
    previous,
    release() {
      if (!held) return;
      held = false;
      claimedInProcess.delete(folder);
      // This process stays alive: the file would keep agents of other processes out.
      rmSync(file, { force: true });
    },
  };
}
