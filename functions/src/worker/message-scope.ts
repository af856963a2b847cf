import {
  executionPrefix,
  foreachResultsFolder,
  isForeachResultsRef,
  isOutputRef,
  jobFileKey,
  outputFolder,
  parseJobFileKey,
  type StepMessage,
} from "@ferry/dsl-compiler/contract";

/**
 * Step Functions' execution name rule: 1–80 characters, none of whitespace,
 * `< > { } [ ] ? * " # % \ ^ | ~ \` $ & , ; : /` or control characters.
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;
/** A standard execution's ARN, or the `local:<workflow>:<name>` id of `ferry run`. */
const EXECUTION_ID =
  /^(?:arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]{1,80}|local:[^:\s]{1,80}):([^:]+)$/;

export interface MessageScopeOptions {
  /** Buckets job files may live in; `undefined` accepts any (the bucket is still checked against output references). */
  jobBuckets?: readonly string[];
}

/** The execution name inside an execution id, or `undefined` if the id is malformed. */
export function executionNameOf(execution: string): string | undefined {
  const name = EXECUTION_ID.exec(execution)?.[1] ?? execution;
  return EXECUTION_NAME.test(name) && !hasControlCharacter(name) ? name : undefined;
}

/**
 * Checks that a message only points where the deployment puts job files:
 * the execution id has Step Functions' shape, the prefix is
 * `<workflow>/<execution name>/`, the bucket is one the agent was given, and
 * every output reference in `input.deps` lies in that same bucket and
 * prefix and names a stored output of its dependency. Returns the reason to dead-letter it, or `undefined`.
 */
export function messageScopeProblem(message: StepMessage, options: MessageScopeOptions): string | undefined {
  const name = executionNameOf(message.execution);
  if (!name)
    return `execution "${message.execution.slice(0, 200)}" is not a Step Functions execution id (an execution ARN whose name is 1–80 characters without spaces or any of <>{}[]?*"#%\\^|~\`$&,;:/)`;
  let prefix: string;
  try {
    // The bucket key layout's own rule, as the state machine applies it (`$.ferry.prefix`).
    prefix = executionPrefix(message.workflow, name);
  } catch (error) {
    return `no job-files prefix can be made of workflow "${message.workflow}" and execution "${name}": ${(error as Error).message}`;
  }
  if (message.jobFiles.prefix !== prefix)
    return `jobFiles.prefix "${message.jobFiles.prefix.slice(0, 200)}" is not this execution's "${prefix}"`;
  const buckets = options.jobBuckets;
  if (buckets && !buckets.includes(message.jobFiles.bucket))
    return `jobFiles.bucket "${message.jobFiles.bucket.slice(0, 200)}" is not a job bucket of this worker (${buckets.join(", ")})`;
  for (const [dep, value] of Object.entries(message.input.deps)) {
    if (isForeachResultsRef(value)) {
      const problem = foreachResultsProblem(dep, value.ferryForeachResults, message.jobFiles);
      if (problem) return problem;
      continue;
    }
    if (!isOutputRef(value)) continue;
    const ref = value.ferryOutputRef;
    if (ref.bucket !== message.jobFiles.bucket || ref.prefix !== message.jobFiles.prefix)
      return `input.deps.${dep}: output reference to s3://${ref.bucket.slice(0, 200)}/${ref.prefix.slice(0, 200)} lies outside this execution's job files`;
    if (!isStoredOutputOf(dep, ref))
      return `input.deps.${dep.slice(0, 80)}: output reference "${ref.name.slice(0, 200)}" (site "${ref.site.slice(0, 80)}") is not a stored output of that step`;
  }
  return undefined;
}

/** A foreach results reference must name a map run manifest of `dep`'s results folder in this execution's job files. */
function foreachResultsProblem(
  dep: string,
  ref: { bucket: string; manifest: string },
  jobFiles: { bucket: string; prefix: string },
): string | undefined {
  const where = `input.deps.${dep.slice(0, 80)}: foreach results "${ref.manifest.slice(0, 200)}"`;
  if (ref.bucket !== jobFiles.bucket) return `${where} lie in another bucket than this execution's job files`;
  try {
    const { prefix, name } = parseJobFileKey(ref.manifest);
    const folder = foreachResultsFolder(dep);
    const run = name.slice(folder.length).split("/");
    if (
      prefix === jobFiles.prefix &&
      name.startsWith(folder) &&
      run.length === 2 &&
      run[1] === "manifest.json"
    )
      return undefined;
  } catch {
    // Not a key of the layout: refused below.
  }
  return `${where} are not a map run manifest of that step in this execution`;
}

/** Whether a reference names what a worker stores for `dep` (`outputName`), under a site's keys of its prefix. */
function isStoredOutputOf(dep: string, ref: { prefix: string; site: string; name: string }): boolean {
  try {
    jobFileKey(ref.prefix, ref.site, ref.name);
    const stem = outputFolder(dep);
    return (
      ref.name.startsWith(stem) && ref.name.endsWith(".json") && !ref.name.slice(stem.length).includes("/")
    );
  } catch {
    // A dep or site that cannot be a key segment names nothing a worker stored.
    return false;
  }
}

/** Not a `\p{Cc}` regex: Unicode property classes pull ICU tables into an idle agent's memory. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
