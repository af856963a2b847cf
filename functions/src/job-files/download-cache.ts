import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "@ferry/dsl-compiler/contract";
import { JobFilesError } from "../errors.ts";
import { hashFile } from "./file-hash.ts";
import type { JobFileIdentity } from "./store.ts";

/** An object to fetch: its identity before the download, when the sha256 is not known yet. */
export type ObjectIdentity = Omit<JobFileIdentity, "sha256"> & { etag: string };

export interface DownloadCacheOptions {
  dir: string;
  /** Entries are evicted, least recently used first, down to this size. @default 10 GiB */
  maxBytes?: number;
}

/** Fetches an object into `partPath`; the cache checks what arrived. */
export type Fetch = (partPath: string) => Promise<void>;

type EntryMeta = JobFileIdentity & { etag: string };

/**
 * Downloaded job files kept on the device, keyed by bucket, key, ETag and
 * version. Entries are copied (reflinked where the file system can) into
 * job folders, never hard-linked: a step that edits its input changes its
 * own copy only. Each use re-hashes the copy it hands out, so a damaged or
 * altered entry is dropped and fetched again rather than passed on.
 */
export class DownloadCache {
  private readonly maxBytes: number;

  constructor(private readonly options: DownloadCacheOptions) {
    this.maxBytes = options.maxBytes ?? 10 * 1024 ** 3;
  }

  /** Puts the file `identity` names at `destPath`, fetching it on a miss; returns its full identity. */
  async copyTo(identity: ObjectIdentity, destPath: string, fetch: Fetch): Promise<EntryMeta> {
    const { dir } = this.options;
    const entry = join(dir, entryName(identity));
    const meta = await readMeta(`${entry}.json`);
    if (meta && meta.sizeBytes === identity.sizeBytes && meta.etag === identity.etag) {
      if (await copyVerified(entry, destPath, meta)) {
        const now = new Date();
        await utimes(`${entry}.json`, now, now);
        return meta;
      }
      // A cache entry that no longer hashes right is evidence of tampering or disk damage: never reuse it.
      await rm(entry, { force: true });
      await rm(`${entry}.json`, { force: true });
    }
    // The agent's alone: steps (other users) must not read other executions' files here.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const part = `${entry}.${process.pid}.${randomBytes(4).toString("hex")}.part`;
    try {
      await fetch(part);
      const { size } = await stat(part);
      if (size !== identity.sizeBytes) {
        throw new JobFilesError(
          `s3://${identity.bucket}/${identity.key}: received ${size} bytes, expected ${identity.sizeBytes}`,
        );
      }
      const fresh: EntryMeta = { ...identity, sha256: await hashFile(part) };
      await rename(part, entry);
      await writeFile(`${entry}.json`, JSON.stringify(fresh));
      if (!(await copyVerified(entry, destPath, fresh))) {
        throw new JobFilesError(`s3://${identity.bucket}/${identity.key}: cached copy changed while in use`);
      }
      await this.evict();
      return fresh;
    } finally {
      await rm(part, { force: true });
    }
  }

  /** Removes least recently used entries until the cache fits `maxBytes`. */
  async evict(): Promise<void> {
    const { dir } = this.options;
    const entries: { path: string; sizeBytes: number; usedMs: number }[] = [];
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".json")) continue;
      const path = join(dir, name.slice(0, -".json".length));
      const meta = await readMeta(`${path}.json`);
      const used = await stat(`${path}.json`).catch(() => undefined);
      if (meta && used) entries.push({ path, sizeBytes: meta.sizeBytes, usedMs: used.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.sizeBytes, 0);
    entries.sort((a, b) => a.usedMs - b.usedMs);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      await rm(`${e.path}.json`, { force: true });
      await rm(e.path, { force: true });
      total -= e.sizeBytes;
    }
  }
}

function entryName(id: ObjectIdentity): string {
  return sha256(JSON.stringify([id.bucket, id.key, id.etag, id.versionId ?? null]));
}

async function readMeta(path: string): Promise<EntryMeta | undefined> {
  try {
    const json = JSON.parse(await readFile(path, "utf8")) as Partial<EntryMeta>;
    return typeof json.sha256 === "string" && typeof json.sizeBytes === "number"
      ? (json as EntryMeta)
      : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // Unreadable or torn metadata: the entry is treated as missing and fetched again.
    return undefined;
  }
}

/** Reflinks (or copies) the entry, then checks the copy's bytes, so what the step gets is what was verified. */
async function copyVerified(entry: string, destPath: string, meta: EntryMeta): Promise<boolean> {
  try {
    await rm(destPath, { force: true });
    await copyFile(entry, destPath, constants.COPYFILE_FICLONE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const { size } = await stat(destPath);
  if (size === meta.sizeBytes && (await hashFile(destPath)) === meta.sha256) return true;
  await rm(destPath, { force: true });
  return false;
}
