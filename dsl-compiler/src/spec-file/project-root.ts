import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The nearest directory at or above `from` holding a package.json; function handler paths are relative to it. */
export function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
