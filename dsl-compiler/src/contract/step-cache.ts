import { z } from "zod";
import { canonicalJson, type ManifestStep, sha256 } from "./manifest.ts";

/**
 * What a step cache key is made of. Every part is content, never a
 * user-chosen name alone, so a change to what runs or to what it reads
 * always misses.
 */
export interface StepCacheKeyParts {
  /** {@link cacheDefinitionHash} of the step's manifest definition. */
  definitionHash: string;
  /** What the runtime says it ran: the image digest (container) or code hash (function, process script). */
  runs: { imageDigest?: string; codeHash?: string };
  /** The step input after output references were resolved (workflow input, deps outputs, item). */
  input: unknown;
  /** Content identity of every staged input job file (sha256 of its bytes), by name. */
  inputFiles: Record<string, string>;
  /** `cache.key`: extra strings mixed in. */
  extra?: readonly string[];
}

/**
 * The part of a step's manifest definition that decides what it computes:
 * its runtime (command or image and pinned digest, env, handler), resources
 * and job-file names. Placement (site, queue, executor), timeouts and the
 * cache options are left out, so an entry written on the edge answers the
 * same step placed in the cloud.
 */
export function cacheDefinitionHash(
  step: Pick<ManifestStep, "runtime" | "resources" | "inputs" | "outputs">,
): string {
  return sha256(
    canonicalJson({
      runtime: step.runtime,
      resources: step.resources,
      inputs: step.inputs,
      outputs: step.outputs,
    }),
  );
}

/** The sha256 every runtime (embedded, edge agent, cloud) computes for the same step run. */
export function stepCacheKey(parts: StepCacheKeyParts): string {
  return sha256(
    canonicalJson({
      v: 1,
      definition: parts.definitionHash,
      imageDigest: parts.runs.imageDigest ?? null,
      codeHash: parts.runs.codeHash ?? null,
      input: parts.input,
      inputFiles: parts.inputFiles,
      extra: parts.extra ?? [],
    }),
  );
}

/** Where an entry came from: the run (execution) and attempt that actually ran the step. */
export const CacheOriginSchema = z.strictObject({
  workflow: z.string(),
  execution: z.string(),
  step: z.string(),
  attempt: z.number().int().min(1),
  site: z.string(),
});
export type CacheOrigin = z.output<typeof CacheOriginSchema>;

/** One output job file an entry carries: the bytes are stored by their sha256. */
export const CachedFileSchema = z.strictObject({
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().min(0),
});
export type CachedFile = z.output<typeof CachedFileSchema>;

/**
 * A step cache entry, the same locally and in the cloud: the output the
 * step answered with, its output job files, and where it came from.
 * `outputSha256` lets a reader refuse an entry altered after it was written.
 */
export const CacheEntrySchema = z.strictObject({
  v: z.literal(1),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  step: z.string(),
  definitionHash: z.string(),
  output: z.unknown(),
  outputSha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(CachedFileSchema),
  origin: CacheOriginSchema,
  createdAt: z.string(),
  /** ISO time after which the entry misses; absent: no expiry. */
  expiresAt: z.string().optional(),
});
export type CacheEntry = z.output<typeof CacheEntrySchema>;

/**
 * Checks an entry read back from storage: its shape, its key, its output
 * hash and its expiry. Never throws; a refused entry is a miss.
 */
export function checkCacheEntry(
  json: unknown,
  key: string,
  now: Date = new Date(),
): { ok: true; entry: CacheEntry } | { ok: false; reason: string } {
  const parsed = CacheEntrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `corrupt: ${issue.path.join(".") || "(root)"}: ${issue.message}` };
  }
  const entry = parsed.data;
  if (entry.key !== key) return { ok: false, reason: "corrupt: stored under another key" };
  if (sha256(canonicalJson(entry.output)) !== entry.outputSha256)
    return { ok: false, reason: "corrupt: output does not match its sha256" };
  if (entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= now.getTime())
    return { ok: false, reason: `expired at ${entry.expiresAt}` };
  return { ok: true, entry };
}
