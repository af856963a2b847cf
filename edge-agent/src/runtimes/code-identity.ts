import { createHash, type Hash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

/** Scripts past this are not hashed: a command argument that large is data, not code. */
const MAX_SCRIPT_BYTES = 16 * 1024 * 1024;

/**
 * The hash of the files a process command names (`python train.py`,
 * `./run.sh`): an edited script is new code, so a cached result of the old
 * one must not answer. Arguments that are no file are left to the command
 * line, which the definition hash already covers. Undefined when none is a file.
 */
export function scriptFilesHash(command: readonly string[], cwd: string): string | undefined {
  // Made at the first file: most commands name none.
  let hash: Hash | undefined;
  for (const arg of command) {
    if (arg === "" || arg.startsWith("-")) continue;
    const path = isAbsolute(arg) ? arg : resolve(cwd, arg);
    let size: number;
    try {
      // Most words are no file (a flag value, a program on PATH): no thrown ENOENT for each, every attempt.
      const stats = statSync(path, { throwIfNoEntry: false });
      if (!stats?.isFile()) continue;
      size = stats.size;
    } catch {
      // Not a file (ENOTDIR, EACCES): nothing to hash.
      continue;
    }
    if (size > MAX_SCRIPT_BYTES) continue;
    hash ??= createHash("sha256");
    hash.update(`${arg}\0${size}\0`);
    hash.update(readFileSync(path));
  }
  return hash?.digest("hex");
}
