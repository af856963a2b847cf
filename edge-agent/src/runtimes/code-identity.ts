import { createHash } from "node:crypto";
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
  const hash = createHash("sha256");
  let any = false;
  for (const arg of command) {
    if (arg === "" || arg.startsWith("-")) continue;
    const path = isAbsolute(arg) ? arg : resolve(cwd, arg);
    let size: number;
    try {
      const stats = statSync(path);
      if (!stats.isFile()) continue;
      size = stats.size;
    } catch {
      // Not a file (a word, a flag value, a program on PATH): nothing to hash.
      continue;
    }
    if (size > MAX_SCRIPT_BYTES) continue;
    hash.update(`${arg}\0${size}\0`);
    hash.update(readFileSync(path));
    any = true;
  }
  return any ? hash.digest("hex") : undefined;
}
