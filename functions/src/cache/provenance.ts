import {
  attemptKeyParts,
  type CachedFile,
  canonicalJson,
  jobFileKey,
  type ManifestStep,
  type ProvenanceRecord,
  provenanceItemsName,
  provenanceName,
  type StepInput,
  type StepMessage,
  sha256,
} from "@ferry/dsl-compiler/contract";
import { messageOf } from "../errors.ts";
import type { JobFileIdentity, JobFileStore } from "../job-files/store.ts";
import type { Logger } from "../worker/logger.ts";
import type { CacheState, RunIdentity } from "./consult.ts";

/**
 * How an attempt ended (a Lambda attempt is `succeeded` or `failed`; those
 * two and `timed-out` are answered, the others leave no record or say why):
 * - `succeeded` / `failed`: answered with SendTaskSuccess / SendTaskFailure;
 * - `timed-out`: stopped at `timeoutSeconds`, answered `Ferry.Timeout`;
 * - `handed-back`: stopped by shutdown, answered `Ferry.AgentShutdown`;
 * - `task-gone`: Step Functions no longer accepts the token (timed out or
 *   answered elsewhere); the step was stopped and nothing was reported;
 * - `local-fault`: the device could not stage the step (ENOSPC, EACCES, EIO): handed back unanswered, not charged.
 */
export type AttemptOutcome =
  | "succeeded"
  | "failed"
  | "timed-out"
  | "handed-back"
  | "task-gone"
  | "local-fault";

/** Everything one attempt leaves for its provenance record. */
export interface AttemptFacts {
  message: StepMessage;
  /** `hash` is the manifest's definition hash of the step. */
  step: Pick<ManifestStep, "name" | "site" | "hash">;
  runtime: string;
  runs: RunIdentity;
  input: StepInput;
  inputFiles: Record<string, JobFileIdentity>;
  outputFiles: CachedFile[];
  output?: unknown;
  cache: CacheState;
  outcome: AttemptOutcome;
  exitCode: number | null;
  error?: string;
  startedAt: Date;
  finishedAt: Date;
}

/** The record of one attempt (see `ProvenanceRecordSchema`). */
export function provenanceRecord(
  facts: AttemptFacts,
  identity: { device: string; agent: string },
): ProvenanceRecord {
  const { message, step, cache } = facts;
  // The input holds each dependency's output: written once, hashed twice.
  const memo = new Map<object, string>();
  const depDigests = new Map<object, string>();
  for (const out of Object.values(facts.input.deps)) rememberCanonical(out, memo, depDigests);
  const digest = (value: unknown) =>
    (value !== null && typeof value === "object" ? depDigests.get(value) : undefined) ??
    sha256(canonicalJson(value ?? null, memo));
  return {
    v: 1,
    workflow: message.workflow,
    execution: message.execution,
    step: step.name,
    attempt: message.attempt,
    ...(facts.input.item !== undefined ? { item: facts.input.item } : {}),
    ...(message.index !== undefined ? { index: message.index } : {}),
    site: step.site,
    device: identity.device,
    agent: identity.agent,
    runtime: facts.runtime,
    definitionHash: step.hash,
    ...(facts.runs.imageDigest ? { imageDigest: facts.runs.imageDigest } : {}),
    ...(facts.runs.codeHash ? { codeHash: facts.runs.codeHash } : {}),
    inputDigest: digest(facts.input),
    deps: Object.fromEntries(
      Object.entries(facts.input.deps).map(([dep, out]) => [dep, { outputDigest: digest(out) }]),
    ),
    inputFiles: Object.entries(facts.inputFiles).map(([name, f]) => ({
      name,
      key: f.key,
      sha256: f.sha256,
      sizeBytes: f.sizeBytes,
      ...(f.etag ? { etag: f.etag } : {}),
      ...(f.versionId ? { versionId: f.versionId } : {}),
    })),
    outputFiles: facts.outputFiles.map((f) => ({
      name: f.name,
      key: keyOf(message, step.site, f.name),
      sha256: f.sha256,
      sizeBytes: f.sizeBytes,
    })),
    ...(facts.outcome === "succeeded" ? { outputDigest: digest(facts.output) } : {}),
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    outcome: facts.outcome,
    exitCode: facts.exitCode,
    ...(facts.error ? { error: facts.error } : {}),
    cache: {
      status: cache.status,
      ...(cache.key ? { key: cache.key } : {}),
      ...(cache.hit ? { origin: cache.hit.origin } : {}),
    },
  };
}

/** Canonical texts (and their digests) of large dependency outputs, by their JSON: every item of a foreach has the same deps. */
const canonicalTexts = new Map<string, { text: string; digest: string }>();
const CANONICAL_TEXTS_KEPT = 32;
/** Below this, writing the canonical text costs about what looking it up does. */
const CANONICAL_TEXT_MIN_BYTES = 1024;
/** Step Functions' state limit: larger outputs travel by reference; bounds the kept texts to 16 MiB. */
const CANONICAL_TEXT_MAX_BYTES = 256 * 1024;

/**
 * Seeds `memo` with the canonical text of `value` and `digests` with its
 * digest, reusing both when a value with the same JSON was written before
 * (equal JSON text is an equal value, so an equal canonical text); the
 * native JSON.stringify is far cheaper than either.
 */
function rememberCanonical(value: unknown, memo: Map<object, string>, digests: Map<object, string>): void {
  if (value === null || typeof value !== "object") return;
  const json = JSON.stringify(value);
  if (json.length < CANONICAL_TEXT_MIN_BYTES || json.length > CANONICAL_TEXT_MAX_BYTES) return;
  let known = canonicalTexts.get(json);
  if (known === undefined) {
    const text = canonicalJson(value);
    known = { text, digest: sha256(text) };
    if (canonicalTexts.size >= CANONICAL_TEXTS_KEPT)
      canonicalTexts.delete(canonicalTexts.keys().next().value!);
    canonicalTexts.set(json, known);
  }
  memo.set(value, known.text);
  digests.set(value, known.digest);
}

/**
 * Writes the record at `provenanceName` under the step's site in the
 * execution's job files (the run folder locally, the bucket in the cloud).
 * A record that cannot be written is logged: it never fails the step.
 */
export async function writeProvenance(
  store: JobFileStore | undefined,
  facts: AttemptFacts,
  identity: { device: string; agent: string },
  logger: Logger,
): Promise<void> {
  if (!store || facts.outcome === "task-gone" || facts.outcome === "local-fault") return;
  const { message, step } = facts;
  const parts = { ...attemptKeyParts(message), step: step.name };
  const ref = { ...message.jobFiles, site: step.site };
  try {
    const record = JSON.stringify(provenanceRecord(facts, identity));
    if ((parts.item !== undefined || parts.batch !== undefined) && store.append) {
      await store.append(ref, provenanceItemsName(step.name), `${record}\n`);
      return;
    }
    const name = provenanceName(parts);
    await store.put(ref, name, record);
  } catch (error) {
    logger.warn({ err: error }, `could not write the provenance record: ${messageOf(error)}`);
  }
}

function keyOf(message: StepMessage, site: string, name: string): string {
  try {
    return jobFileKey(message.jobFiles.prefix, site, name);
  } catch {
    // A local run's prefix may not follow the bucket layout: the name under the prefix then.
    return `${message.jobFiles.prefix}${site}/${name}`;
  }
}
