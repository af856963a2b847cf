import { constants, existsSync, lstatSync, realpathSync } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { InvalidOutputError } from "../errors.ts";
import { safeRelative } from "./paths.ts";

/**
 * Files a step wrote into its job folder, read without following links out
 * of it. Step code is untrusted: `out.txt` or `.output.json` may be a
 * symlink to `/etc/ferry/agent.env`, so every read checks the parent's real
 * path stays inside the folder and opens the file itself with `O_NOFOLLOW`.
 */

/** A regular file opened for reading; rejects symlinks, FIFOs, devices. */
export async function openNoFollow(path: string, what: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted in place of a file must not hang the agent.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "EMLINK")
      throw refused(what, "is a symbolic link; steps may only hand back regular files", error);
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    throw refused(what, "is not a regular file");
  }
  return handle;
}

/**
 * The absolute path of `name` inside `root`, after checking that no folder
 * on the way is a link leading outside `root`. Throws `INVALID_OUTPUT`.
 */
export function containedPath(root: string, name: string, what: string): string {
  const path = join(root, safeRelative(name, what));
  const realRoot = realpathSync(root);
  const parent = dirname(path);
  if (!existsSync(parent)) return path;
  const realParent = realpathSync(parent);
  if (realParent !== realRoot && !realParent.startsWith(realRoot + sep))
    throw refused(what, `lies behind a link out of the job folder (${name})`);
  return path;
}

/** Reads `name` from the job folder, or `undefined` when it is absent. Never follows a link. */
export async function readContained(
  root: string,
  name: string,
  what: string,
  maxBytes: number,
): Promise<string | undefined> {
  // Most steps write neither output nor error file: one lstat says so, before the real-path checks
  // (a dozen syscalls) and without the cost of a thrown ENOENT.
  const entry = lstatSync(join(root, safeRelative(name, what)), { throwIfNoEntry: false });
  if (!entry) return undefined;
  if (entry.isSymbolicLink())
    throw refused(what, "is a symbolic link; steps may only hand back regular files");
  const path = containedPath(root, name, what);
  const handle = await openNoFollow(path, what);
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw refused(what, `is ${size} bytes, over the ${maxBytes}-byte limit`);
    return await readFile(handle, "utf8");
  } finally {
    await handle.close();
  }
}

function refused(what: string, problem: string, cause?: unknown): InvalidOutputError {
  return new InvalidOutputError(`${what} ${problem}`, cause === undefined ? {} : { cause });
}
