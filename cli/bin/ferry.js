#!/usr/bin/env node
// The `ferry` command. It runs the built CLI (dist/cli/, made by `npm install`
// or `npm run build:cli`) when that build is current, and the TypeScript sources
// through tsx otherwise, so an edit never runs as old code. "Current" means every
// source file the build was made from still has the mtime and size the build
// recorded, and no file was added beside them: one stat per file and directory,
// a few milliseconds. FERRY_CLI_SOURCES=1 runs the sources regardless.
import { readFileSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import module from "node:module";
import { fileURLToPath } from "node:url";
import { sourceEntries } from "./source-dirs.js";
import { v8FlagsFor } from "./v8-flags.js";

// Commands that allocate a lot start with a capped young generation (v8-flags.js). V8
// reads the flags only at start, so the bin replaces itself with a Node given them
// (process.execve, Node >= 22.15 on POSIX): still one process, which a terminal's
// Ctrl-C reaches once. Without execve they run here as they are; every other command
// runs here at once.
const args = process.argv.slice(2);
const v8Flags = v8FlagsFor(args);
if (
  v8Flags.length > 0 &&
  typeof process.execve === "function" &&
  !process.execArgv.some((a) => a.startsWith("--max-semi-space-size"))
)
  process.execve(process.execPath, [
    process.execPath,
    ...process.execArgv,
    ...v8Flags,
    fileURLToPath(import.meta.url),
    ...args,
  ]);

// `ferry run` makes several file operations for each step it runs (job folder, log,
// provenance, events): libuv's default 4 threads queue them behind each other once a
// few steps run at once, and each step's end waits in that queue. The size is read when
// the first asynchronous operation starts the pool, so it is set before that, only if
// the user chose none, and unset once the pool is up: steps see the usual environment.
if (args[0] === "run" && process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = "32";
  await stat(fileURLToPath(import.meta.url));
  delete process.env.UV_THREADPOOL_SIZE;
}

// V8 keeps the compiled code of the CLI's modules on disk (Node >= 22.1): a start parses less.
module.enableCompileCache?.();

const distDir = new URL("../../dist/cli/", import.meta.url);
const rootDir = new URL("../../", import.meta.url);

/** The built entry, or why the sources run instead. */
function builtEntry() {
  if (process.env.FERRY_CLI_SOURCES === "1") return { why: undefined };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(new URL("stamp.json", distDir), "utf8"));
  } catch {
    return { why: "the CLI is not built" };
  }
  for (const [file, mtimeMs, size] of stamp.sources) {
    const now = statSync(new URL(file, rootDir), { throwIfNoEntry: false });
    if (!now || now.mtimeMs !== mtimeMs || now.size !== size)
      return { why: `the built CLI is older than ${file}` };
  }
  // A directory's mtime moves with any entry made or removed there; only then are its entries listed.
  for (const [dir, mtimeMs, entries] of stamp.dirs ?? []) {
    const path = new URL(`${dir}/`, rootDir);
    const now = statSync(path, { throwIfNoEntry: false });
    if (!now || (now.mtimeMs !== mtimeMs && sourceEntries(path).join("/") !== entries.join("/")))
      return { why: `a file was added to or removed from ${dir} after the CLI was built` };
  }
  return { entry: new URL(stamp.main, distDir) };
}

const { entry, why } = builtEntry();
let main;
if (entry) ({ main } = await import(entry.href));
else {
  // Only a terminal hears why: scripts and tests that read stderr see what they always saw.
  if (why && process.stderr.isTTY)
    process.stderr.write(`ferry: ${why}; running the sources (slower). npm run build:cli builds it.\n`);
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/main.ts"));
}
process.exitCode = await main(args);
