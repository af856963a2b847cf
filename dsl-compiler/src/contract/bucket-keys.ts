/**
 * The job bucket's key layout, in one place. Everything of one workflow
 * lives under `<workflow>/`:
 *
 * ```
 * <workflow>/<execution>/<name>                                   job files (shared by the execution's steps)
 * <workflow>/<execution>/.ferry/<site>/outputs/<step>/<id>.json   large outputs (passed by OutputRef)
 * <workflow>/<execution>/.ferry/<site>/logs/<step>/<attempt>.log  per-attempt logs
 * <workflow>/<execution>/.ferry/<site>/provenance/<step>/<attempt>.json
 * <workflow>/.ferry-cache/<site>/<step>/<key>.json                step cache entries
 * ```
 *
 * What a worker writes on its own account carries the site that wrote it, so
 * IAM can give each site write access to its own prefixes only
 * ({@link siteKeyPatterns}). Step, site and workflow names cannot start with
 * a dot (the spec's name patterns), so `.ferry` never collides with them.
 */

/** The reserved folder for worker-written artefacts inside an execution's prefix. */
const RESERVED = ".ferry";
const CACHE = ".ferry-cache";

/**
 * `<workflow>/<execution>/`: the job-files prefix of one execution, which the
 * state machine puts in every step message as `jobFiles.prefix`.
 */
export function executionPrefix(workflow: string, execution: string): string {
  return `${segment(workflow, "workflow")}/${segment(execution, "execution")}/`;
}

/** {@link executionPrefix} as a `States.Format` template over `$$.Execution.Name`. */
export function executionPrefixFormat(workflow: string): string {
  return `${segment(workflow, "workflow")}/{}/`;
}

/** The full key of `name` (relative to the prefix) under a `jobFiles.prefix`. */
export function jobFileKey(prefix: string, name: string): string {
  const base = prefix.replace(/\/+$/, "");
  const rel = name.replace(/^\/+/, "");
  return base ? `${base}/${rel}` : rel;
}

/** Where one site's attempt artefacts go, relative to the execution prefix. */
export interface AttemptKeyParts {
  site: string;
  step: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** A `foreach` item's index, so items of one attempt number do not share a key. */
  item?: number;
}

/** A large output's name relative to the execution prefix; `id` tells attempts apart (e.g. a token hash). */
export function outputName(site: string, step: string, id: string): string {
  return `${siteFolder(site)}/outputs/${segment(step, "step")}/${segment(id, "output id")}.json`;
}

/** An attempt's log, relative to the execution prefix. */
export function logName(parts: AttemptKeyParts): string {
  return `${siteFolder(parts.site)}/logs/${attemptPath(parts)}.log`;
}

/** An attempt's provenance record (what ran, on what inputs), relative to the execution prefix. */
export function provenanceName(parts: AttemptKeyParts): string {
  return `${siteFolder(parts.site)}/provenance/${attemptPath(parts)}.json`;
}

/** A step cache entry: kept across executions, so under the workflow rather than an execution. */
export function cacheKey(workflow: string, site: string, step: string, key: string): string {
  return `${segment(workflow, "workflow")}/${CACHE}/${segment(site, "site")}/${segment(step, "step")}/${segment(key, "cache key")}.json`;
}

/** S3 key patterns (IAM `*` wildcards) of what one site writes, per kind of key. */
export interface SiteKeyPatterns {
  /** Job files are shared by the steps of an execution, whatever their sites. */
  jobFiles: string;
  outputs: string;
  logs: string;
  provenance: string;
  cache: string;
}

/** The per-site prefixes, as IAM resource patterns (`arn:aws:s3:::<bucket>/<pattern>`). */
export function siteKeyPatterns(workflow: string, site: string): SiteKeyPatterns {
  const wf = segment(workflow, "workflow");
  const own = `${wf}/*/${siteFolder(site)}`;
  return {
    jobFiles: `${wf}/*`,
    outputs: `${own}/outputs/*`,
    logs: `${own}/logs/*`,
    provenance: `${own}/provenance/*`,
    cache: `${wf}/${CACHE}/${segment(site, "site")}/*`,
  };
}

function siteFolder(site: string): string {
  return `${RESERVED}/${segment(site, "site")}`;
}

function attemptPath(parts: AttemptKeyParts): string {
  const item = parts.item === undefined ? "" : `/item-${parts.item}`;
  return `${segment(parts.step, "step")}${item}/${attemptNumber(parts.attempt)}`;
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
