import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import { LocalStepCache } from "@ferry/edge-agent";
import { cacheRoot } from "@ferry/edge-agent/local-run";
import { type CliCommand, UsageError } from "../command.ts";

export const cacheCommand: CliCommand = {
  usage: `Usage: ferry cache ls [--json]
       ferry cache show <KEY>
       ferry cache rm <KEY>...
       ferry cache clear

The step cache of ferry run, under .ferry/cache/ of the project: one entry
per step run, keyed on the sha256 of the step's definition, its image digest
or code hash, its input and its input job files' content. A KEY may be a
prefix of 6 or more hex digits (ls shows 12).`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" } },
    });
    const [action, ...keys] = positionals;
    const cache = new LocalStepCache({ dir: cacheRoot(findProjectRoot(io.cwd)) });
    if (action === "ls") {
      const entries = await cache.list();
      if (values.json) {
        io.stdout(
          `${JSON.stringify(entries.map((e) => ({ ...e.scope, key: e.key, sizeBytes: e.sizeBytes, usedAt: e.usedAt.toISOString(), ...(e.entry ? { origin: e.entry.origin, createdAt: e.entry.createdAt, expiresAt: e.entry.expiresAt } : {}), ...(e.problem ? { problem: e.problem } : {}) })))}\n`,
        );
        return 0;
      }
      if (entries.length === 0) {
        io.stdout("the step cache is empty (steps with cache: true fill it when they run)\n");
        return 0;
      }
      io.stdout(
        `${"KEY".padEnd(12)}  ${"WORKFLOW".padEnd(16)} ${"STEP".padEnd(20)} ${"FROM RUN".padEnd(24)} ${"SIZE".padStart(9)}  STATE\n`,
      );
      for (const e of entries)
        io.stdout(
          `${e.key.slice(0, 12)}  ${e.scope.workflow.padEnd(16)} ${e.scope.step.padEnd(20)} ${(e.entry?.origin.execution ?? "?").padEnd(24)} ${String(e.sizeBytes).padStart(9)}  ${e.problem ?? (e.entry?.expiresAt ? `expires ${e.entry.expiresAt}` : "ok")}\n`,
        );
      return 0;
    }
    if (action === "show") {
      if (keys.length !== 1) throw new UsageError("name one entry key (see ferry cache ls)");
      const matches = (await cache.list()).filter((e) => e.key.startsWith(prefix(keys[0]!)));
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
    if (action === "clear") {
      if (keys.length > 0) throw new UsageError("clear takes no arguments");
      await cache.clear();
      io.stdout("step cache cleared\n");
      return 0;
    }
    throw new UsageError(
      action
        ? `unknown action "${action}": use ls, show, rm or clear`
        : "name an action: ls, show, rm or clear",
    );
  },
};

function prefix(key: string): string {
  if (!/^[0-9a-f]{6,64}$/.test(key)) throw new UsageError(`"${key}" is not a cache key (6 to 64 hex digits)`);
  return key;
}
