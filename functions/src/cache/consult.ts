import {
  type CachedFile,
  type CacheEntry,
  type CacheOrigin,
  cacheDefinitionHash,
  canonicalJson,
  type ManifestStep,
  type StepInput,
  type StepMessage,
  sha256,
  stepCacheKey,
} from "@ferry/dsl-compiler/contract";
import { messageOf } from "../errors.ts";
import type { JobFileIdentity } from "../job-files/store.ts";
import { sleep } from "../worker/backoff.ts";
import type { Logger } from "../worker/logger.ts";
import type { CacheClaim, CacheScope, StepCache } from "./store.ts";

/** How often a step waiting on another run's claim looks for its entry. */
const CLAIM_POLL_MS = 100;

/** What the cache did for one attempt. */
export interface CacheState {
  /** `off`: the step does not cache, `--no-cache`, or what runs could not be identified. */
  status: "hit" | "miss" | "off";
  key?: string;
  scope?: CacheScope;
  /** The entry that answered, on a hit. */
  hit?: CacheEntry;
  /** Held while this attempt runs the step, so identical ones wait for its entry. */
  claim?: CacheClaim;
  /** Why an entry that was there did not answer. */
  missReason?: string;
}

export interface CacheOptions {
  cache: StepCache | undefined;
  /** `--no-cache`: never answer from the cache (entries are still written). */
  readDisabled: boolean;
  /** Longest wait for another run holding the same key. */
  waitMs: number;
}

/** What the attempt runs: the image digest (container) or code hash (function, process script). */
export interface RunIdentity {
  imageDigest?: string;
  codeHash?: string;
}

/**
 * What the cache needs of a step. The edge agent takes it from the manifest
 * ({@link cacheStepOf}); a Lambda function, which has no manifest, from its
 * environment, where the deploy wrote the same definition hash.
 */
export interface CacheStep {
  name: string;
  site: string;
  kind: ManifestStep["runtime"]["kind"];
  cache: ManifestStep["cache"];
  timeoutSeconds: number;
  /** `cacheDefinitionHash` of the step's manifest definition. */
  definitionHash: string;
}

export function cacheStepOf(step: ManifestStep): CacheStep {
  return {
    name: step.name,
    site: step.site,
    kind: step.runtime.kind,
    cache: step.cache,
    timeoutSeconds: step.timeoutSeconds,
    definitionHash: cacheDefinitionHash(step),
  };
}

/**
 * Looks the attempt up; on a miss claims its key, waiting for another run
 * that holds it (its entry then answers) up to `waitMs`. A hit has its
 * output files already restored into `jobDir`.
 */
export async function consultCache(
  options: CacheOptions,
  parts: {
    message: StepMessage;
    step: CacheStep;
    input: StepInput;
    inputFiles: Record<string, JobFileIdentity>;
    runs: RunIdentity;
    jobDir: string;
    signal: AbortSignal;
    logger: Logger;
  },
): Promise<CacheState> {
  const { step, runs, logger } = parts;
  const cache = options.cache;
  if (!cache || !step.cache.enabled) return { status: "off" };
  // Never key what cannot be named: an unidentified image or function code would hit across changes.
  if (step.kind === "container" && !runs.imageDigest) return { status: "off" };
  if (step.kind === "function" && !runs.codeHash) return { status: "off" };
  const key = stepCacheKey({
    definitionHash: step.definitionHash,
    runs,
    input: parts.input,
    inputFiles: Object.fromEntries(Object.entries(parts.inputFiles).map(([name, f]) => [name, f.sha256])),
    ...(step.cache.key ? { extra: step.cache.key } : {}),
  });
  const scope: CacheScope = { workflow: parts.message.workflow, site: step.site, step: step.name };
  if (options.readDisabled) return { status: "miss", key, scope };
  const deadline = Date.now() + options.waitMs;
  let missReason: string | undefined;
  for (;;) {
    try {
      const found = await cache.lookup(scope, key);
      if (found.hit) {
        if (await cache.restore(scope, found.hit, parts.jobDir))
          return { status: "hit", key, scope, hit: found.hit };
        missReason = "corrupt: an output file does not match its sha256";
      } else if (found.reason) missReason = found.reason;
      if (missReason)
        logger.warn({ key }, `cache entry refused (${missReason}); running the step to repair it`);
      const claim = await cache.claim(scope, key, step.timeoutSeconds * 1000);
      if (claim) {
        // The holder may have written its entry and released between our lookup and our claim.
        const late = missReason ? {} : await cache.lookup(scope, key);
        if (late.hit && (await cache.restore(scope, late.hit, parts.jobDir))) {
          await claim.release();
          return { status: "hit", key, scope, hit: late.hit };
        }
        return { status: "miss", key, scope, claim, ...(missReason ? { missReason } : {}) };
      }
    } catch (error) {
      // The cache only saves work: a failing store never fails the step.
      logger.warn({ err: error }, `step cache unavailable (${messageOf(error)}); running the step`);
      return { status: "miss", key, scope };
    }
    if (Date.now() >= deadline || parts.signal.aborted) {
      logger.info({ key }, "another run still holds this step's cache key; running it here too");
      return { status: "miss", key, scope };
    }
    await sleep(CLAIM_POLL_MS, parts.signal);
  }
}

/** Stores a succeeded attempt's output and files under its key; failures are logged, never the step's. */
export async function rememberAnswer(
  options: CacheOptions,
  state: CacheState,
  parts: {
    message: StepMessage;
    step: CacheStep;
    value: unknown;
    files: CachedFile[];
    jobDir: string;
    logger: Logger;
  },
): Promise<void> {
  if (!options.cache || state.status !== "miss" || !state.key || !state.scope) return;
  const { message, step } = parts;
  const now = new Date();
  const origin: CacheOrigin = {
    workflow: message.workflow,
    execution: message.execution,
    step: message.step,
    attempt: message.attempt,
    site: step.site,
  };
  const entry: CacheEntry = {
    v: 1,
    key: state.key,
    step: step.name,
    definitionHash: step.definitionHash,
    output: parts.value ?? null,
    outputSha256: sha256(canonicalJson(parts.value ?? null)),
    files: parts.files,
    origin,
    createdAt: now.toISOString(),
    ...(step.cache.ttlSeconds !== undefined
      ? { expiresAt: new Date(now.getTime() + step.cache.ttlSeconds * 1000).toISOString() }
      : {}),
  };
  try {
    await options.cache.write(state.scope, entry, parts.jobDir);
  } catch (error) {
    parts.logger.warn({ err: error }, `could not store the step's cache entry: ${messageOf(error)}`);
  }
}

/** Lets identical steps waiting on this attempt's key go on: they now find its entry, or run. */
export async function releaseClaim(state: CacheState, logger: Logger): Promise<void> {
  await state.claim
    ?.release()
    .catch((error: unknown) => logger.warn({ err: error }, "could not release a cache claim"));
}
