import { randomBytes } from "node:crypto";
import { constants, readFileSync, utimesSync } from "node:fs";
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CacheEntry, checkCacheEntry } from "@ferry/dsl-compiler/contract";
import type { CacheClaim, CacheLookup, CacheScope, StepCache } from "@ferry/functions/cache";
import { containedPath, hashFile, safeRelative } from "@ferry/functions/job-files";

export interface LocalStepCacheOptions {
  /** `.ferry/cache` of the project. */
  dir: string;
  /** Least recently used entries are evicted down to this. @default 5 GiB */
  maxBytes?: number;
}

/** One stored entry, as `ferry cache ls` shows it. */
export interface LocalCacheListing {
  scope: CacheScope;
  key: string;
  entry: CacheEntry | undefined;
  /** Why the entry would not answer (corrupt, expired). */
  problem?: string;
  sizeBytes: number;
  usedAt: Date;
}

/**
 * The step cache of `ferry run`: `entries/<workflow>/<site>/<step>/<key>.json`
 * plus content-addressed output files in `blobs/<sha256>`, shared by every
 * entry holding the same bytes. Reads check the entry and every file's
 * sha256; a hit touches the entry, and writes evict the least recently used
 * entries past `maxBytes`.
 */
export class LocalStepCache implements StepCache {
  private readonly maxBytes: number;
  /** Bytes stored, counted once per process then kept up to date. */
  private totalBytes: number | undefined;

  constructor(private readonly options: LocalStepCacheOptions) {
    this.maxBytes = options.maxBytes ?? 5 * 1024 ** 3;
  }

  private entryPath(scope: CacheScope, key: string): string {
    return join(
      this.options.dir,
      "entries",
      safeRelative(scope.workflow, "workflow"),
      safeRelative(scope.site, "site"),
      safeRelative(scope.step, "step"),
      `${safeRelative(key, "cache key")}.json`,
    );
  }

  private blobPath(sha: string): string {
    return join(this.options.dir, "blobs", safeRelative(sha, "sha256"));
  }

  async lookup(scope: CacheScope, key: string): Promise<CacheLookup> {
    const path = this.entryPath(scope, key);
    let text: string;
    try {
      // Synchronous: an entry is small, and one syscall beats thread-pool round trips on every step.
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const checked = checkCacheEntry(json, key);
    if (!checked.ok) {
      await rm(path, { force: true });
      return { reason: checked.reason };
    }
    try {
      // The entry's mtime is its last use, for LRU eviction.
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Removed meanwhile (ferry cache rm): the entry read still answers this once.
    }
    return { hit: checked.entry };
  }

  async restore(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<boolean> {
    for (const file of entry.files) {
      const dest = join(jobDir, safeRelative(file.name, "output"));
      await mkdir(dirname(dest), { recursive: true });
      try {
        await copyFile(this.blobPath(file.sha256), dest, constants.COPYFILE_FICLONE);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        await rm(this.entryPath(scope, entry.key), { force: true });
        return false;
      }
      if ((await hashFile(dest)) !== file.sha256) {
        // A damaged blob could answer other entries too: drop it with this entry.
        await rm(this.blobPath(file.sha256), { force: true });
        await rm(this.entryPath(scope, entry.key), { force: true });
        await rm(dest, { force: true });
        return false;
      }
    }
    return true;
  }

  async write(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<void> {
    let added = 0;
    await mkdir(join(this.options.dir, "blobs"), { recursive: true });
    for (const file of entry.files) {
      const blob = this.blobPath(file.sha256);
      if (await exists(blob)) continue;
      const part = `${blob}.${process.pid}.${randomBytes(4).toString("hex")}.part`;
      await copyFile(containedPath(jobDir, file.name, `output "${file.name}"`), part);
      // Hashed again: the step's process may still be writing the file it handed back.
      if ((await hashFile(part)) !== file.sha256) {
        await rm(part, { force: true });
        return;
      }
      await rename(part, blob);
      added += file.sizeBytes;
    }
    const path = this.entryPath(scope, entry.key);
    await mkdir(dirname(path), { recursive: true });
    const body = JSON.stringify(entry);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, body);
    await rename(temp, path);
    added += Buffer.byteLength(body);
    this.totalBytes = (this.totalBytes ?? (await this.usage())) + added;
    if (this.totalBytes > this.maxBytes) await this.evict();
  }

  async claim(scope: CacheScope, key: string, holdMs: number): Promise<CacheClaim | undefined> {
    const dir = join(this.options.dir, "claims");
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${safeRelative(key, "cache key")}.${safeRelative(scope.step, "step")}`);
    for (let tries = 0; tries < 2; tries++) {
      try {
        // `wx`: created only if absent, the conditional write that elects one runner.
        const handle = await open(path, "wx");
        await handle.writeFile(JSON.stringify({ pid: process.pid, until: Date.now() + holdMs }));
        await handle.close();
        return { release: () => rm(path, { force: true }) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const held = await readFile(path, "utf8")
        .then((t) => JSON.parse(t) as { until?: number })
        .catch(() => ({ until: 0 }));
      // A claim past its hold was left by a run that died: taken over.
      if ((held.until ?? 0) > Date.now()) return undefined;
      await rm(path, { force: true });
    }
    return undefined;
  }

  /** Every entry with its state, most recently used first. */
  async list(): Promise<LocalCacheListing[]> {
    const out: LocalCacheListing[] = [];
    const root = join(this.options.dir, "entries");
    for (const workflow of await names(root))
      for (const site of await names(join(root, workflow)))
        for (const step of await names(join(root, workflow, site)))
          for (const file of await names(join(root, workflow, site, step))) {
            if (!file.endsWith(".json")) continue;
            const key = file.slice(0, -".json".length);
            const path = join(root, workflow, site, step, file);
            const [text, stats] = await Promise.all([readFile(path, "utf8"), stat(path)]);
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            const checked = checkCacheEntry(json, key);
            const entry = checked.ok ? checked.entry : (json as CacheEntry | undefined);
            const files = (entry?.files ?? []).reduce((n, f) => n + (f.sizeBytes ?? 0), 0);
            out.push({
              scope: { workflow, site, step },
              key,
              entry,
              ...(checked.ok ? {} : { problem: checked.reason }),
              sizeBytes: stats.size + files,
              usedAt: stats.mtime,
            });
          }
    return out.sort((a, b) => b.usedAt.getTime() - a.usedAt.getTime());
  }

  /** Removes the entries whose key starts with `keyPrefix` (and blobs no entry holds any more); returns how many. */
  async remove(keyPrefix: string): Promise<number> {
    let removed = 0;
    for (const e of await this.list()) {
      if (!e.key.startsWith(keyPrefix)) continue;
      await rm(this.entryPath(e.scope, e.key), { force: true });
      removed++;
    }
    await this.collectBlobs();
    return removed;
  }

  /** Removes everything. */
  async clear(): Promise<void> {
    await rm(this.options.dir, { recursive: true, force: true });
    this.totalBytes = 0;
  }

  private async usage(): Promise<number> {
    let total = 0;
    for (const e of await this.list()) total += (await stat(this.entryPath(e.scope, e.key))).size;
    for (const blob of await names(join(this.options.dir, "blobs")))
      total += (await stat(join(this.options.dir, "blobs", blob)).catch(() => ({ size: 0 }))).size;
    return total;
  }

  private async evict(): Promise<void> {
    const entries = (await this.list()).reverse();
    while (entries.length > 0 && (await this.usage()) > this.maxBytes) {
      const oldest = entries.shift()!;
      await rm(this.entryPath(oldest.scope, oldest.key), { force: true });
      await this.collectBlobs();
    }
    this.totalBytes = await this.usage();
  }

  private async collectBlobs(): Promise<void> {
    const held = new Set((await this.list()).flatMap((e) => (e.entry?.files ?? []).map((f) => f.sha256)));
    const dir = join(this.options.dir, "blobs");
    for (const blob of await names(dir)) if (!held.has(blob)) await rm(join(dir, blob), { force: true });
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
