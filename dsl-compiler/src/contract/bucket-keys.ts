import { canonicalJson, sha256 } from "./manifest.ts";
import type { StepMessage } from "./step-message.ts";

/**
 * The job bucket's key layout, in one place. Everything of one workflow
 * lives under `<workflow>/`, and everything a worker writes under the site
 * that wrote it:
 *
 * ```
 * <workflow>/<site>/<execution>/<name>                               job files a step of <site> wrote
 * <workflow>/<site>/<execution>/.ferry/outputs/<step>/<id>.json      large outputs (passed by OutputRef)
 * <workflow>/<site>/<execution>/.ferry/logs/<step>/<attempt>.log     per-attempt logs (a foreach item's under
 *                                                                  <step>/item-<index>/, a batch's under <step>/batch-<id>/)
 * <workflow>/<site>/<execution>/.ferry/provenance/<step>/<attempt>.json
 * <workflow>/<site>/<execution>/.ferry/foreach/<step>/<map run>/…      a Distributed Map's results (ResultWriter)
 * <workflow>/.ferry-cache/<site>/<step>/<key>.json                   step cache entries
 * <workflow>/.ferry-cache/<site>/.blobs/<sha256>                     their output files, by content
 * ```
 *
 * The site comes before the execution so that every IAM pattern is a fixed
 * prefix plus `*` ({@link siteKeyPatterns}): IAM's `*` also matches `/`, so
 * a pattern with `*` in the middle (execution first, then site) would let a
 * site write into another site's folder under a crafted name. Step, site
 * and workflow names cannot start with a dot (the spec's name patterns), so
 * `.ferry` and `.ferry-cache` never collide with them.
 */

/** The reserved folder for worker-written artefacts inside a site's execution folder. */
const RESERVED = ".ferry";
const CACHE = ".ferry-cache";

/**
 * `<workflow>/<execution>/`: names one execution's job files, which the
 * state machine puts in every step message as `jobFiles.prefix`; keys add
 * the writing site ({@link jobFileKey}).
 */
export function executionPrefix(workflow: string, execution: string): string {
  return `${segment(workflow, "workflow")}/${segment(execution, "execution")}/`;
}

/** {@link executionPrefix} as a `States.Format` template over `$$.Execution.Name`. */
export function executionPrefixFormat(workflow: string): string {
  return `${segment(workflow, "workflow")}/{}/`;
}

/** The workflow and execution an {@link executionPrefix} names; throws a RangeError on anything else. */
export function parseExecutionPrefix(prefix: string): { workflow: string; execution: string } {
  const parts = prefix.split("/");
  if (parts.length !== 3 || parts[2] !== "") {
    throw new RangeError(`job-files prefix "${prefix}" is not <workflow>/<execution>/`);
  }
  return { workflow: segment(parts[0]!, "workflow"), execution: segment(parts[1]!, "execution") };
}

/**
 * The full key of `name` (a relative path) as written by a step of `site`
 * in the execution a `jobFiles.prefix` names.
 */
export function jobFileKey(prefix: string, site: string, name: string): string {
  const { workflow, execution } = parseExecutionPrefix(prefix);
  const rel = name.replace(/^\/+/, "");
  if (rel === "" || rel.split("/").some((part) => part === "..")) {
    throw new RangeError(`job file name "${name}" must be a relative path inside the job folder`);
  }
  return `${workflow}/${segment(site, "site")}/${execution}/${rel}`;
}

/** The inverse of {@link jobFileKey}: the execution prefix, site and name of a job file's key; throws a RangeError on anything else. */
export function parseJobFileKey(key: string): { prefix: string; site: string; name: string } {
  const [workflow, site, execution, ...rest] = key.split("/");
  if (workflow === undefined || site === undefined || execution === undefined || rest.length === 0) {
    throw new RangeError(`"${key}" is not a job file key <workflow>/<site>/<execution>/<name>`);
  }
  const prefix = executionPrefix(workflow, execution);
  return { prefix, site: segment(site, "site"), name: rest.join("/") };
}

/** Where one attempt's artefacts go, relative to its site's execution folder. */
export interface AttemptKeyParts {
  step: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** A `foreach` item's index, so items of one attempt number do not share a key. */
  item?: number;
  /** A batched `foreach` child's {@link batchId}: a batch has no single index. */
  batch?: string;
}

/**
 * A batch's id: the first 16 hex digits of the sha256 of its items'
 * canonical JSON. Step Functions gives a batch's child no index, and its
 * retries get the same items, so every attempt of one batch shares the id
 * and batches of different items never do.
 */
export function batchId(items: readonly unknown[]): string {
  return sha256(canonicalJson(items)).slice(0, 16);
}

/**
 * The {@link AttemptKeyParts} of a step message: a `foreach` item's index
 * when it has one, else, for a batched child (whose item is `{ Items,
 * BatchInput }`), its {@link batchId}.
 */
export function attemptKeyParts(
  message: Pick<StepMessage, "step" | "attempt" | "index"> & { input: Pick<StepMessage["input"], "item"> },
): AttemptKeyParts {
  const { step, attempt, index } = message;
  if (index !== undefined) return { step, attempt, item: index };
  const items = (message.input.item as { Items?: unknown } | null | undefined)?.Items;
  return Array.isArray(items) ? { step, attempt, batch: batchId(items) } : { step, attempt };
}

/** The folder (for {@link jobFileKey}) that holds a step's large outputs. */
export function outputFolder(step: string): string {
  return `${RESERVED}/outputs/${segment(step, "step")}/`;
}

/** A large output's name (for {@link jobFileKey}); `id` tells attempts apart (e.g. a token hash). */
export function outputName(step: string, id: string): string {
  return `${outputFolder(step)}${segment(id, "output id")}.json`;
}

/**
 * The folder (for {@link jobFileKey}) a `foreach` Distributed Map's
 * ResultWriter writes to, under the step's own site: Step Functions adds
 * `<map run id>/manifest.json` and `SUCCEEDED_<n>.json`, `FAILED_<n>.json`.
 */
export function foreachResultsFolder(step: string): string {
  return `${RESERVED}/foreach/${segment(step, "step")}/`;
}

/**
 * {@link jobFileKey} as a `States.Format` template with `{}` for the
 * execution name, for states that build keys at run time. `name` must hold
 * no `{`, `}`, `'` or `\\` (the compiler refuses such names).
 */
export function jobFileKeyFormat(workflow: string, site: string, name: string): string {
  if (/[{}'\\]/.test(name))
    throw new RangeError(`job file name "${name}" cannot go into a States.Format template`);
  return `${segment(workflow, "workflow")}/${segment(site, "site")}/{}/${name.replace(/^\/+/, "")}`;
}

/** IAM pattern of one step's {@link foreachResultsFolder} in every execution (stays inside its site's keys). */
export function foreachResultsPattern(workflow: string, site: string, step: string): string {
  return `${siteKeyPatterns(workflow, site).files}/${foreachResultsFolder(step)}*`;
}

/** An attempt's log name (for {@link jobFileKey}). */
export function logName(parts: AttemptKeyParts): string {
  return `${RESERVED}/logs/${attemptPath(parts)}.log`;
}

/** The folder (for {@link jobFileKey}) of every {@link logName} of one step, or of all steps. */
export function logFolder(step?: string): string {
  return `${RESERVED}/logs/${step === undefined ? "" : `${segment(step, "step")}/`}`;
}

/** An attempt's provenance record name (what ran, on what inputs; for {@link jobFileKey}). */
export function provenanceName(parts: AttemptKeyParts): string {
  return `${RESERVED}/provenance/${attemptPath(parts)}.json`;
}

/**
 * Where a store that can append (a local folder, not S3) keeps the records
 * of a `foreach` step's items: one JSON line per attempt of any item, in
 * place of one {@link provenanceName} each (a file per item costs more than
 * a no-op item). Readers of {@link provenanceFolder} take both.
 */
export function provenanceItemsName(step: string): string {
  return `${RESERVED}/provenance/${segment(step, "step")}/items.jsonl`;
}

/** The folder (for {@link jobFileKey}) of every {@link provenanceName} of an execution on one site. */
export function provenanceFolder(): string {
  return `${RESERVED}/provenance/`;
}

/** Everything a workflow's step cache holds in the bucket: every site's entries and files. */
export function cacheFolder(workflow: string): string {
  return `${segment(workflow, "workflow")}/${CACHE}/`;
}

/** A step cache entry: kept across executions, so under the workflow rather than an execution. */
export function cacheKey(workflow: string, site: string, step: string, key: string): string {
  return `${segment(workflow, "workflow")}/${CACHE}/${segment(site, "site")}/${segment(step, "step")}/${segment(key, "cache key")}.json`;
}

/**
 * An output file a cache entry holds, stored once by content in the writing
 * site's cache segment (`.blobs` cannot be a step name).
 */
export function cacheBlobKey(workflow: string, site: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError(`"${sha256}" is not a sha256`);
  return `${segment(workflow, "workflow")}/${CACHE}/${segment(site, "site")}/.blobs/${sha256}`;
}

/** S3 key patterns (IAM `*` wildcards, each a fixed prefix plus `*`) of one site's keys. */
export interface SiteKeyPatterns {
  /** Job files, large outputs, logs and provenance of every execution, as that site writes them. */
  files: string;
  /** The site's own step cache entries. */
  cache: string;
}

/** One site's prefixes, as IAM resource patterns (`arn:aws:s3:::<bucket>/<pattern>`). */
export function siteKeyPatterns(workflow: string, site: string): SiteKeyPatterns {
  const wf = segment(workflow, "workflow");
  const s = segment(site, "site");
  return { files: `${wf}/${s}/*`, cache: `${wf}/${CACHE}/${s}/*` };
}

/** Every site's cache entries: readable by all sites of the workflow, writable by each for its own. */
export function sharedCachePattern(workflow: string): string {
  return `${segment(workflow, "workflow")}/${CACHE}/*`;
}

function attemptPath(parts: AttemptKeyParts): string {
  const item =
    parts.item !== undefined
      ? `/item-${parts.item}`
      : parts.batch !== undefined
        ? `/batch-${batchSegment(parts.batch)}`
        : "";
  return `${segment(parts.step, "step")}${item}/${attemptNumber(parts.attempt)}`;
}

function batchSegment(id: string): string {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new RangeError(`batch id "${id}" is not 16 hex digits`);
  return id;
}

function attemptNumber(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be an integer ≥ 1, got ${attempt}`);
  return attempt;
}

/** A key segment must stay one segment: names come validated, so this guards programming errors. */
function segment(value: string, what: string): string {
  if (value === "" || value.includes("/") || value === "." || value === "..") {
    throw new RangeError(`${what} "${value}" cannot be an S3 key segment`);
  }
  return value;
}
