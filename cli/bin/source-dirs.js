// What a directory of the CLI's sources holds, as the build stamp records it
// (scripts/build.mjs) and the bin compares it (ferry.js): its source files and
// subdirectories by name. A file added beside the sources makes the build stale
// even before a file imports it; tests and editors' files do not.
import { readdirSync } from "node:fs";

const SOURCE = /\.(?:[cm]?[jt]sx?|json)$/;
const TEST = /\.test\.[cm]?[jt]sx?$/;

/** The sorted names of `dir`'s source files and subdirectories (hidden ones and tests left out). */
export function sourceEntries(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) => !e.name.startsWith(".") && (e.isDirectory() || (SOURCE.test(e.name) && !TEST.test(e.name))),
    )
    .map((e) => e.name)
    .sort();
}
