import type { CachedFile, CacheEntry } from "@ferry/dsl-compiler/contract";

/** Which step's entries: entries are kept per workflow, site and step. */
export interface CacheScope {
  workflow: string;
  site: string;
  step: string;
}

export type CacheLookup =
  | { hit: CacheEntry }
  /** `reason` says why an entry that was there did not answer (corrupt, expired); absent when there was none. */
  | { hit?: undefined; reason?: string };

/** A claim on a key while its step runs, so identical steps started meanwhile wait instead of running too. */
export interface CacheClaim {
  release(): Promise<void>;
}

/**
 * Step cache storage: a folder in `ferry run`, the bucket's cache segment
 * (and an index table) in the cloud. Implementations check what they read
 * (`checkCacheEntry`, file sha256s): a damaged entry is a miss, never a
 * wrong output.
 */
export interface StepCache {
  /** A checked, unexpired entry; a corrupt or expired one is removed and reported as a miss. */
  lookup(scope: CacheScope, key: string): Promise<CacheLookup>;
  /**
   * Copies an entry's output files into `jobDir` (under their names),
   * checking each sha256; false (entry removed) when one is missing or damaged.
   */
  restore(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<boolean>;
  /** Stores an entry and its files (read from `jobDir`). */
  write(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<void>;
  /**
   * Claims `key` for `holdMs` with a conditional write; undefined when
   * another run holds it (it may be running the very same step).
   */
  claim(scope: CacheScope, key: string, holdMs: number): Promise<CacheClaim | undefined>;
}

/** Output job files of an entry, as a reader expects them. */
export type { CachedFile };
