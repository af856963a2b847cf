import { parseArgs } from "node:util";
import type { CacheEntry } from "@ferry/dsl-compiler/contract";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE } from "../support/aws-flags.ts";

const TARGETS = ["local", "aws", "localstack"] as const;

/** An entry as both caches list it; only the local one knows when an entry was last used. */
interface Listing {
  scope: { workflow: string; site: string; step: string };
  key: string;
  entry: CacheEntry | undefined;
  problem?: string;
  sizeBytes: number;
  usedAt?: Date;
}

/** What `ferry cache` does to a cache, local or deployed. */
interface CacheAdmin {
  list(): Promise<Listing[]>;
  remove(prefix: string): Promise<number>;
  clear(): Promise<void>;
  close(): void;
  /** Where the entries live, for messages. */
  where: string;
}

export const cacheCommand: CliCommand = {
  usage: `Usage: ferry cache ls [--json]
       ferry cache show <KEY>
       ferry cache rm <KEY>...
       ferry cache clear
       ferry cache <ls|show|rm|clear> --target aws|localstack <spec.yaml|workflow> [KEY...]

The step cache: one entry per step run, keyed on the sha256 of the step's
definition, its image digest or code hash, its input and its input job
files' content. A KEY may be a prefix of 6 or more hex digits (ls shows 12).

Without --target: the cache of ferry run, under .ferry/cache/ of the project.
With --target: a deployed workflow's cache, shared by its sites: the stack's
step cache table and the entries and files in its job bucket.

Options:
  --target local|aws|localstack   (default: local)
  --json                          ls: print JSON
${AWS_FLAGS_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS, json: { type: "boolean" }, target: { type: "string" } },
    });
    const target = (values.target ?? "local") as (typeof TARGETS)[number];
    if (!TARGETS.includes(target))
      throw new UsageError(`--target must be local, aws or localstack, got "${values.target}"`);
    const [action, ...rest] = positionals;
    if (!action || !["ls", "show", "rm", "clear"].includes(action))
      throw new UsageError(
        action
          ? `unknown action "${action}": use ls, show, rm or clear`
          : "name an action: ls, show, rm or clear",
      );
    let keys = rest;
    let admin: CacheAdmin | undefined;
    if (target === "local") {
      admin = await localCache(io);
    } else {
      const [workflowArg, ...more] = rest;
      if (!workflowArg)
        throw new UsageError(
          `--target ${target}: name the spec file or deployed workflow whose cache to use`,
        );
      keys = more;
      if (target === "localstack" && !values["endpoint-url"] && !io.env.AWS_ENDPOINT_URL)
        throw new UsageError(
          "--target localstack needs --endpoint-url (or AWS_ENDPOINT_URL), e.g. http://127.0.0.1:4566",
        );
      const opened = await cloudCache(workflowArg, values, io);
      if (typeof opened === "number") return opened;
      admin = opened;
    }
    try {
      return await act(action, keys, admin, Boolean(values.json), io);
    } finally {
      admin.close();
    }
  },
};

async function act(action: string, keys: string[], cache: CacheAdmin, json: boolean, io: CliIo) {
  if (action === "ls") {
    if (keys.length > 0) throw new UsageError("ls takes no keys (ferry cache show <KEY> shows one)");
    const entries = await cache.list();
    if (json) {
      io.stdout(
        `${JSON.stringify(entries.map((e) => ({ ...e.scope, key: e.key, sizeBytes: e.sizeBytes, ...(e.usedAt ? { usedAt: e.usedAt.toISOString() } : {}), ...(e.entry ? { origin: e.entry.origin, createdAt: e.entry.createdAt, expiresAt: e.entry.expiresAt } : {}), ...(e.problem ? { problem: e.problem } : {}) })))}\n`,
      );
      return 0;
    }
    if (entries.length === 0) {
      io.stdout(`${cache.where} is empty (steps with cache: true fill it when they run)\n`);
      return 0;
    }
    io.stdout(
      `${"KEY".padEnd(12)}  ${"WORKFLOW".padEnd(16)} ${"STEP".padEnd(20)} ${"FROM RUN".padEnd(24)} ${"SIZE".padStart(9)}  STATE\n`,
    );
    for (const e of entries)
      io.stdout(
        `${e.key.slice(0, 12)}  ${e.scope.workflow.padEnd(16)} ${e.scope.step.padEnd(20)} ${(e.entry?.origin.execution.split(":").at(-1) ?? "?").padEnd(24)} ${String(e.sizeBytes).padStart(9)}  ${e.problem ?? (e.entry?.expiresAt ? `expires ${e.entry.expiresAt}` : "ok")}\n`,
      );
    return 0;
  }
  if (action === "show") {
    if (keys.length !== 1) throw new UsageError("name one entry key (see ferry cache ls)");
    const key = prefix(keys[0]!);
    const matches = (await cache.list()).filter((e) => e.key.startsWith(key));
    if (matches.length !== 1)
      throw new UsageError(
        matches.length === 0
          ? `no cache entry with key ${keys[0]}`
          : `key ${keys[0]} names ${matches.length} entries: give more digits`,
      );
    const e = matches[0]!;
    io.stdout(
      `${JSON.stringify({ ...e.scope, key: e.key, ...(e.problem ? { problem: e.problem } : {}), entry: e.entry }, null, 2)}\n`,
    );
    return 0;
  }
  if (action === "rm") {
    if (keys.length === 0) throw new UsageError("name the entry keys to remove (see ferry cache ls)");
    let removed = 0;
    for (const key of keys) removed += await cache.remove(prefix(key));
    io.stdout(`removed ${removed} entr${removed === 1 ? "y" : "ies"}\n`);
    return removed > 0 ? 0 : 1;
  }
  if (keys.length > 0) throw new UsageError("clear takes no arguments");
  await cache.clear();
  io.stdout(`${cache.where} cleared\n`);
  return 0;
}

async function localCache(io: CliIo): Promise<CacheAdmin> {
  const [{ findProjectRoot }, { LocalStepCache }, { cacheRoot }] = await Promise.all([
    import("@ferry/dsl-compiler"),
    import("@ferry/edge-agent"),
    import("@ferry/edge-agent/local-run"),
  ]);
  const cache = new LocalStepCache({ dir: cacheRoot(findProjectRoot(io.cwd)) });
  return {
    where: "the step cache",
    list: () => cache.list(),
    remove: (key) => cache.remove(key),
    clear: () => cache.clear(),
    close: () => undefined,
  };
}

/** A deployed workflow's cache; an exit code when its stack cannot be read (already reported). */
async function cloudCache(
  arg: string,
  values: { "endpoint-url"?: string; region?: string },
  io: CliIo,
): Promise<CacheAdmin | number> {
  const [{ workflowTarget, reportDeployError }, { CloudStepCacheStore }] = await Promise.all([
    import("../support/cloud-commands.ts"),
    import("@ferry/infra"),
  ]);
  const target = await workflowTarget(arg, values, io);
  if (!target) return 1;
  try {
    const store = await CloudStepCacheStore.open(target.workflow, target.context);
    return {
      where: `the step cache of ${target.workflow} (table ${store.table})`,
      list: () => store.list(),
      remove: (key) => store.remove(key),
      clear: () => store.clear(),
      close: () => store.destroy(),
    };
  } catch (error) {
    return reportDeployError("cache", error, io);
  }
}

function prefix(key: string): string {
  if (!/^[0-9a-f]{6,64}$/.test(key)) throw new UsageError(`"${key}" is not a cache key (6 to 64 hex digits)`);
  return key;
}
