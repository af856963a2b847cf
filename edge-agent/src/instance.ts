import { readdirSync, readFileSync } from "node:fs";

/**
 * A process as the kernel knows it: pid plus start time (clock ticks since
 * boot, field 22 of `/proc/<pid>/stat`) plus boot id. A pid alone may be
 * reused by an unrelated process after the one it named exited; the triple
 * names one process for good.
 */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
  bootId: string;
}

/** What `/proc/<pid>/stat` says about a live process, or undefined when there is none (or not Linux). */
export function procStat(pid: number): { state: string; pgrp: number; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ")": fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): pgrp is field 5, starttime field 22.
  const pgrp = Number(fields[2]);
  const startTicks = Number(fields[19]);
  if (!Number.isInteger(pgrp) || !Number.isInteger(startTicks)) return undefined;
  return { state: fields[0]!, pgrp, startTicks };
}

let cachedBootId: string | undefined;

/** This boot's id (`/proc/sys/kernel/random/boot_id`): start times are only comparable within one boot. */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      cachedBootId = "unknown";
    }
  }
  return cachedBootId;
}

/** The identity of a live process; undefined when it is gone. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = procStat(pid);
  return stat ? { pid, startTicks: stat.startTicks, bootId: bootId() } : undefined;
}

/** This process's identity (start time 0 where there is no /proc). */
export function selfIdentity(): ProcessIdentity {
  return identityOf(process.pid) ?? { pid: process.pid, startTicks: 0, bootId: bootId() };
}

/** True when the very process `id` names still runs (same pid, start time and boot). */
export function isAlive(id: ProcessIdentity): boolean {
  if (id.bootId !== bootId()) return false;
  return procStat(id.pid)?.startTicks === id.startTicks;
}

/** `boot:pid:start`, the form kept in container labels and lock files. */
export function formatIdentity(id: ProcessIdentity): string {
  return `${id.bootId}:${id.pid}:${id.startTicks}`;
}

/** The inverse of {@link formatIdentity}; undefined for anything else. */
export function parseIdentity(text: string): ProcessIdentity | undefined {
  const match = /^([0-9a-z-]+):(\d+):(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  return { bootId: match[1]!, pid: Number(match[2]), startTicks: Number(match[3]) };
}

/**
 * Live members of the process group a recorded leader started, leader
 * included. A member is trusted only if it is in group `leader.pid` and
 * started no earlier than the leader; if the pid now names another process
 * (different start time), the group number was reused and nothing is ours:
 * Linux keeps a pid in use while any process still has it as its group id,
 * so a reused leader pid means the old group is empty.
 */
export function groupMembers(leader: ProcessIdentity): number[] {
  if (leader.bootId !== bootId()) return [];
  const head = procStat(leader.pid);
  if (head && head.startTicks !== leader.startTicks) return [];
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgrp === leader.pid && stat.startTicks >= leader.startTicks) members.push(Number(entry));
  }
  return members;
}
