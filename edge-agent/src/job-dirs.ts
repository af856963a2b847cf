import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";

/** Every attempt's folder under the work folder starts with this. */
const JOB_DIR_PREFIX = "job-";

/**
 * Removes the job folders an earlier agent instance left in `root` (it was
 * killed before releasing them). Call only once nothing of that instance
 * runs any more (see `StepGroups.reap`, `DockerRuntime.reapOrphans`), and
 * before this instance takes a folder. Returns the folders removed.
 */
export async function removeLeftJobDirs(
  root: string,
  reclaim?: (dir: string) => Promise<void>,
): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => name.startsWith(JOB_DIR_PREFIX));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const dirs = names.map((name) => join(root, name));
  for (const dir of dirs) await new JobDirs(root, 0, reclaim).discard(dir);
  return dirs;
}

/**
 * Attempt job folders, reused once emptied. Creating and removing a folder
 * per step costs far more than emptying one on some disks (removing a folder
 * took ~0.5 ms on ext4 with `discard` here), and a no-op step must stay cheap.
 * Folders are only reused after every file in them was removed.
 */
export class JobDirs {
  private readonly free: string[] = [];
  private created = 0;

  constructor(
    private readonly root: string,
    /** Most emptied folders kept for reuse. */
    private readonly maxFree = 64,
    /**
     * Empties a folder the agent could not (a step running as another user
     * left folders only that user may enter); then removal is tried again.
     */
    private readonly reclaim?: (dir: string) => Promise<void>,
  ) {}

  /** An empty folder for one attempt. */
  acquire(stepName: string): string {
    const reused = this.free.pop();
    if (reused) return reused;
    const dir = join(
      this.root,
      `${JOB_DIR_PREFIX}${process.pid}-${++this.created}-${stepName}`.slice(0, 120),
    );
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Removes the folder for good (after a failed attempt: a stray writer may still hold it). */
  async discard(dir: string): Promise<void> {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      if (!this.reclaim) throw error;
      await this.reclaim(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Empties the folder and keeps it for the next attempt (or removes it). */
  async release(dir: string): Promise<void> {
    if (!(leftEmpty(dir) || (await emptied(dir)))) {
      // Files a container or the step user left that the agent cannot remove: never reuse the folder.
      if (this.reclaim) await this.reclaim(dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    if (this.free.length < this.maxFree) this.free.push(dir);
    // Off the event loop: folders pile up when emptying lags behind short steps, and each removal costs ~0.5 ms.
    else await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Whether the attempt left nothing in its folder (most function steps, every
 * no-op item of a large `foreach`). Listing a folder just used is served from
 * the kernel's cache and costs microseconds, so it is done on the spot: the
 * folder is free again before the next attempt takes one, instead of a new
 * folder being made (and a surplus one removed) while the listing waits on
 * the thread pool.
 */
function leftEmpty(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/** Off the event loop, like the input file: a blocked loop delays every other step. */
async function emptied(dir: string): Promise<boolean> {
  try {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await rm(path, { recursive: true, force: true });
      else await unlink(path);
    }
    return true;
  } catch {
    return false;
  }
}
