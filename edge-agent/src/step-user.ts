import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readdir } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { AgentError } from "./errors.ts";

/**
 * Capabilities a non-root agent needs to run steps as another user:
 * `CAP_SETUID`/`CAP_SETGID` to switch (and drop supplementary groups),
 * `CAP_CHOWN` to give job folders to the step user's group, `CAP_KILL` to
 * stop a step's process group, which no longer runs as the agent's user.
 * The shipped systemd unit grants exactly these (a test checks it).
 */
export const STEP_USER_CAPABILITIES = ["CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL"] as const;

/** Capability numbers (linux/capability.h). */
const CAP_BITS: Record<(typeof STEP_USER_CAPABILITIES)[number], number> = {
  CAP_CHOWN: 0,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
};

/** Where `setpriv` (util-linux) is looked for besides PATH. */
const SETPRIV_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** `steps` in the agent config. */
export interface StepUserConfig {
  /** Name or uid of the user steps run as. */
  user?: string | number | undefined;
  /** Name or gid of their group. @default the user's primary group */
  group?: string | number | undefined;
}

/**
 * The unprivileged identity process and function steps run as. Steps are
 * started through `setpriv`, which switches to the step user, drops every
 * supplementary group, clears the inheritable and ambient capability sets
 * (a non-root agent holds its capabilities as ambient ones, which a plain
 * `setuid` in the child would let the step keep) and sets no_new_privs, so
 * the step's program starts with no capabilities and cannot regain any.
 */
export class StepUser {
  private constructor(
    readonly name: string,
    readonly uid: number,
    readonly gid: number,
    readonly home: string,
    /** Absolute path of `setpriv`. */
    readonly launcher: string,
  ) {}

  /** Looks the user up (NSS, through `getent`) and finds `setpriv`; throws CONFIG_INVALID. */
  static resolve(config: StepUserConfig, env: NodeJS.ProcessEnv = process.env): StepUser {
    const spec = config.user;
    if (spec === undefined) throw new AgentError("CONFIG_INVALID", "steps.user is not set");
    const entry = getent("passwd", String(spec));
    let name: string;
    let uid: number;
    let gid: number;
    let home = "/";
    if (entry) {
      const [n, , u, g, , h] = entry;
      name = n!;
      uid = Number(u);
      gid = Number(g);
      home = h || "/";
    } else if (/^\d+$/.test(String(spec))) {
      name = String(spec);
      uid = Number(spec);
      if (config.group === undefined)
        throw new AgentError(
          "CONFIG_INVALID",
          `steps.user ${spec} has no passwd entry: name its group too (steps.group)`,
        );
      gid = Number.NaN;
    } else {
      throw new AgentError(
        "CONFIG_INVALID",
        `steps.user "${spec}" is not a user on this device (create it: useradd --system ${spec})`,
      );
    }
    if (config.group !== undefined) {
      const group = getent("group", String(config.group));
      if (group) gid = Number(group[2]);
      else if (/^\d+$/.test(String(config.group))) gid = Number(config.group);
      else
        throw new AgentError("CONFIG_INVALID", `steps.group "${config.group}" is not a group on this device`);
    }
    if (uid === 0 || gid === 0)
      throw new AgentError(
        "CONFIG_INVALID",
        `steps.user must not be root or in group 0 (got uid ${uid}, gid ${gid})`,
      );
    return new StepUser(name, uid, gid, home, findSetpriv(env));
  }

  /**
   * Fails unless this process can start steps as the step user: it must not
   * be that user, and must hold {@link STEP_USER_CAPABILITIES} (root does).
   */
  assertCanSwitch(): void {
    const agentUid = process.getuid?.() ?? -1;
    if (agentUid === this.uid)
      throw new AgentError(
        "CONFIG_INVALID",
        `steps.user "${this.name}" is the agent's own user (uid ${agentUid}): steps need a user of their own`,
      );
    const effective = effectiveCapabilities();
    const missing = STEP_USER_CAPABILITIES.filter(
      (cap) => (effective & (1n << BigInt(CAP_BITS[cap]))) === 0n,
    );
    if (missing.length > 0)
      throw new AgentError(
        "CONFIG_INVALID",
        `steps.user is "${this.name}" but the agent (uid ${agentUid}) cannot run steps as another user: it lacks ${missing.join(", ")}. ` +
          `Run it as root, or with AmbientCapabilities=${STEP_USER_CAPABILITIES.join(" ")} (see install/ferry-agent.service)`,
      );
  }

  /** The command that runs `program args` as the step user, with no capabilities and no groups. */
  command(program: string, args: string[]): [string, string[]] {
    return [
      this.launcher,
      [
        `--reuid=${this.uid}`,
        `--regid=${this.gid}`,
        "--clear-groups",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        "--no-new-privs",
        "--",
        program,
        ...args,
      ],
    ];
  }

  /** `HOME` and `USER` of the step user, over the variables a step inherits. */
  identityEnv(): Record<string, string> {
    return { HOME: this.home, USER: this.name };
  }

  /**
   * Prepares the work folder: traversable (not listable) by the step user's
   * group only, and reachable by it from `/`. Throws CONFIG_INVALID naming a
   * folder on the way the step user cannot pass.
   */
  async prepareWorkDir(workDir: string): Promise<void> {
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    await chown(workDir, process.getuid!(), this.gid);
    await chmod(workDir, 0o710);
    for (let dir = dirname(workDir); ; dir = dirname(dir)) {
      const stats = statSync(dir);
      const searchable =
        (stats.uid === this.uid && stats.mode & 0o100) ||
        (stats.gid === this.gid && stats.mode & 0o010) ||
        stats.mode & 0o001;
      if (!searchable)
        throw new AgentError(
          "CONFIG_INVALID",
          `steps run as "${this.name}", who cannot reach the work folder ${workDir}: ${dir} (mode ${(stats.mode & 0o7777).toString(8)}, owner ${stats.uid}:${stats.gid}) is not searchable by it; make it 0711 (systemd: StateDirectoryMode=0711)`,
        );
      if (dir === dirname(dir)) break;
    }
  }

  /** The download cache, the agent's alone. */
  async prepareCacheDir(cacheDir: string): Promise<void> {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    await chmod(cacheDir, 0o700);
  }

  /**
   * Gives a staged job folder to the step user's group before the step runs:
   * folders `rwx` for the group, files readable (staged inputs stay
   * read-only to the group). The agent keeps owning everything it wrote.
   */
  async handOver(jobDir: string): Promise<void> {
    const walk = async (dir: string): Promise<void> => {
      await chown(dir, -1, this.gid);
      await chmod(dir, 0o770);
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) {
          const { mode } = await lstat(path);
          await chown(path, -1, this.gid);
          // Read-only for the step: it may replace a staged file in its folder, never write through to the agent's.
          await chmod(path, (mode & 0o700) | ((mode & 0o500) >> 3));
        }
      }
    };
    await walk(jobDir);
  }

  /**
   * Empties a job folder as the step user, who owns what the step created
   * (folders the agent cannot enter included); the folder itself stays.
   */
  reclaim(jobDir: string): Promise<void> {
    const script = 'chmod -R u+rwX -- "$1" 2>/dev/null; find "$1" -mindepth 1 -delete';
    const [file, args] = this.command("sh", ["-c", script, "sh", jobDir]);
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeout: 60_000 },
        (error, _out, stderr) =>
          error
            ? reject(
                new Error(`could not empty ${jobDir} as ${this.name}: ${stderr.trim() || error.message}`),
              )
            : resolve(),
      );
    });
  }
}

/** `getent <db> <key>` split on `:`, or `undefined` when there is no such entry. */
function getent(db: "passwd" | "group", key: string): string[] | undefined {
  try {
    const out = execFileSync("getent", [db, key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const line = out.split("\n")[0]?.trim();
    return line ? line.split(":") : undefined;
  } catch (error) {
    // Exit 2: no such entry.
    if ((error as { status?: number }).status === 2) return undefined;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return fileEntry(db, key);
    throw error;
  }
}

/** Without `getent` (minimal images): the local files. */
function fileEntry(db: "passwd" | "group", key: string): string[] | undefined {
  for (const line of readFileSync(`/etc/${db}`, "utf8").split("\n")) {
    const fields = line.split(":");
    // Name, or numeric id (third field in both files).
    if (fields[0] === key || fields[2] === key) return fields;
  }
  return undefined;
}

function findSetpriv(env: NodeJS.ProcessEnv): string {
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), ...SETPRIV_DIRS];
  for (const dir of dirs) {
    const path = join(dir, "setpriv");
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  throw new AgentError(
    "CONFIG_INVALID",
    "steps.user needs setpriv (util-linux) to start steps as that user, and none is installed (apt-get install util-linux)",
  );
}

/** The effective capability set of this process (`CapEff` in /proc/self/status). */
function effectiveCapabilities(): bigint {
  const status = readFileSync("/proc/self/status", "utf8");
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match ? BigInt(`0x${match[1]}`) : 0n;
}
