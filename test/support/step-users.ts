/**
 * System users for the step-isolation tests: created by the test that needs
 * them (unique names, so parallel runs never share one) and removed after.
 * The guards fail loudly, never skip.
 */
import { execFileSync } from "node:child_process";
import { accessSync, chmodSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { TestEnvironmentError } from "./env.ts";
import { REPO_ROOT } from "./ferry-cli.ts";

/** The systemd unit install.sh installs. */
export const UNIT_FILE = join(REPO_ROOT, "edge-agent", "install", "ferry-agent.service");

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

/** Fails unless the tests run as root with setpriv (util-linux) and useradd available. */
export function requireUserSwitching(): string {
  if (process.getuid?.() !== 0)
    throw new TestEnvironmentError(
      `step-isolation tests create system users and start processes as them: run them as root (uid is ${process.getuid?.()})`,
    );
  for (const tool of ["setpriv", "useradd", "userdel", "getent"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new TestEnvironmentError(`${tool} is missing (apt-get install util-linux passwd)`);
    }
  }
  return execFileSync("sh", ["-c", "command -v setpriv"], { encoding: "utf8" }).trim();
}

/** A new system user with its own group, no home and no login shell. */
export function createSystemUser(prefix: string): SystemUser {
  const name = `${prefix}-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`.slice(0, 31);
  execFileSync("useradd", [
    "--system",
    "--user-group",
    "--no-create-home",
    "--home-dir",
    "/nonexistent",
    "--shell",
    "/usr/sbin/nologin",
    name,
  ]);
  const [, , uid, gid] = execFileSync("getent", ["passwd", name], { encoding: "utf8" }).trim().split(":");
  return { name, uid: Number(uid), gid: Number(gid) };
}

export function removeSystemUser(user: SystemUser | undefined): void {
  if (!user) return;
  try {
    execFileSync("userdel", [user.name], { stdio: "ignore" });
  } catch {
    // Already gone.
  }
  try {
    execFileSync("groupdel", [user.name], { stdio: "ignore" });
  } catch {
    // userdel removed the user's own group.
  }
}

/** `[Service]` settings of a systemd unit file: each key's values, in order. */
export function unitSettings(path = UNIT_FILE): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== "Service") continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq).trim();
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return settings;
}

/** `CAP_SETUID CAP_KILL` → `setuid,kill`, as setpriv names capabilities. */
export function setprivCaps(caps: readonly string[]): string {
  return caps.map((c) => c.toLowerCase().replace(/^cap_/, "")).join(",");
}

/**
 * setpriv arguments starting a process as `user` with only `caps` (ambient,
 * as systemd's AmbientCapabilities gives them; bounding set narrowed too)
 * and, when `noNewPrivs`, no_new_privs, as the unit starts the agent.
 */
export function asUserWithCaps(user: SystemUser, caps: readonly string[], noNewPrivs: boolean): string[] {
  const list = setprivCaps(caps);
  const plus = list ? list.split(",").map((c) => `+${c}`) : [];
  return [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--clear-groups",
    `--inh-caps=-all${plus.length ? `,${plus.join(",")}` : ""}`,
    `--ambient-caps=-all${plus.length ? `,${plus.join(",")}` : ""}`,
    `--bounding-set=-all${plus.length ? `,${plus.join(",")}` : ""}`,
    ...(noNewPrivs ? ["--no-new-privs"] : []),
    "--",
  ];
}

/** Fails unless `path` is executable (a clear message instead of a spawn ENOENT). */
export function requireExecutable(path: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch (error) {
    throw new TestEnvironmentError(`${path} is not executable`, { cause: error });
  }
}

/**
 * Lets other users pass through (not list) every folder above the
 * repository, so an agent run as a test user can load Ferry and Node.js
 * from this checkout wherever it was cloned (a clone under a private 0700
 * folder included). Returns what puts the modes back as they were.
 */
export function openPathToRepository(): () => void {
  const changed: Array<{ dir: string; mode: number }> = [];
  for (let dir = REPO_ROOT; ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      changed.push({ dir, mode });
    }
    if (dirname(dir) === dir) break;
  }
  return () => {
    for (const { dir, mode } of changed.reverse()) chmodSync(dir, mode);
  };
}
