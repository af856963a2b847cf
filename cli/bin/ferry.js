#!/usr/bin/env node
// The `ferry` command. It runs the built CLI (dist/cli/, made by `npm install`
// or `npm run build:cli`) when that build is current, and the TypeScript sources
// through tsx otherwise, so an edit never runs as old code. "Current" means every
// source file the build was made from still has the mtime and size the build
// recorded: one stat per file, a few milliseconds. FERRY_CLI_SOURCES=1 runs the
// sources regardless.
import { readFileSync, statSync } from "node:fs";
import module from "node:module";

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
process.exitCode = await main(process.argv.slice(2));
