import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type ForeachManifest,
  ForeachManifestSchema,
  type ForeachResultsRef,
  isForeachResultsRef,
  isOutputRef,
  MAX_PAYLOAD_BYTES,
  type OutputRef,
  parseJobFileKey,
  type StepInput,
} from "@ferry/dsl-compiler/contract";
import { InvalidOutputError, JobFilesError } from "../errors.ts";
import type { JobFileStore, JobFilesRef } from "./store.ts";

/**
 * Serializes an output for SendTaskSuccess; one larger than the payload
 * limit is stored as a job file and replaced by an {@link OutputRef}.
 * `name` comes from the bucket key layout (`outputName`).
 */
export async function packOutput(
  output: unknown,
  options: { store: JobFileStore | undefined; ref: JobFilesRef; name: string },
): Promise<unknown> {
  const json = JSON.stringify(output ?? null);
  const sizeBytes = Buffer.byteLength(json);
  if (sizeBytes <= MAX_PAYLOAD_BYTES) return output ?? null;
  if (!options.store) {
    throw new InvalidOutputError(
      `output is ${sizeBytes} bytes, over Step Functions' ${MAX_PAYLOAD_BYTES}-byte limit, and this worker has no job-file store to hold it`,
    );
  }
  await options.store.put(options.ref, options.name, json);
  const reference: OutputRef = {
    ferryOutputRef: { ...options.ref, name: options.name, sizeBytes },
  };
  return reference;
}

/** Where a dependant finds a `foreach` step's result files, relative to its job folder. */
export const FOREACH_RESULTS_DIR = ".foreach";

/**
 * What a dependant of a `foreach` over files or records receives in
 * `deps.<step>`: the map run's result files, staged in its job folder
 * (each a JSON array of `ForeachResultEntry`), never the results inline.
 */
export interface StagedForeachResults {
  mapRunArn: string;
  /** `$FERRY_JOB_DIR`-relative paths, e.g. `.foreach/each/SUCCEEDED_0.json`. */
  succeeded: string[];
  failed: string[];
  pending: string[];
}

/**
 * Replaces output references in `input.deps` by the outputs they point to,
 * and `foreach` results references by {@link StagedForeachResults}, their
 * result files downloaded into `jobDir`.
 */
export async function resolveInputRefs(
  input: StepInput,
  store: JobFileStore | undefined,
  jobDir?: string,
): Promise<StepInput> {
  const refs = Object.entries(input.deps).filter(
    ([, value]) => isOutputRef(value) || isForeachResultsRef(value),
  );
  if (refs.length === 0) return input;
  if (!store)
    throw new JobFilesError("step input holds an output reference but this worker has no job-file store");
  const deps = { ...input.deps };
  for (const [dep, value] of refs) {
    if (isForeachResultsRef(value)) {
      deps[dep] = await stageForeachResults(dep, value, store, jobDir);
      continue;
    }
    const { bucket, prefix, site, name } = (value as OutputRef).ferryOutputRef;
    const body = await store.get({ bucket, prefix, site }, name);
    deps[dep] = parseJson(body.toString("utf8"), `the stored output of "${dep}"`);
  }
  return { ...input, deps };
}

async function stageForeachResults(
  dep: string,
  value: ForeachResultsRef,
  store: JobFileStore,
  jobDir: string | undefined,
): Promise<StagedForeachResults> {
  if (!jobDir)
    throw new JobFilesError(
      `deps.${dep} holds foreach results but this worker has no job folder to stage them in`,
    );
  const { bucket, manifest: key } = value.ferryForeachResults;
  const at = parseJobFileKey(key);
  const ref = { bucket, prefix: at.prefix, site: at.site };
  const parsed = ForeachManifestSchema.safeParse(
    parseJson((await store.get(ref, at.name)).toString("utf8"), `the foreach manifest of "${dep}"`),
  );
  if (!parsed.success)
    throw new InvalidOutputError(`the foreach manifest of "${dep}" (${key}) is not a ResultWriter manifest`);
  const files: ForeachManifest["ResultFiles"] = parsed.data.ResultFiles;
  if (files.SUCCEEDED.length + files.FAILED.length + files.PENDING.length === 0)
    throw new InvalidOutputError(
      `the foreach manifest of "${dep}" (${key}) lists no result files: the Step Functions service wrote only the manifest (LocalStack 4.14's ResultWriter does so); its results cannot be read`,
    );
  const folder = join(FOREACH_RESULTS_DIR, dep);
  await mkdir(join(jobDir, folder), { recursive: true });
  const stage = async (list: Array<{ Key: string }>) => {
    const paths: string[] = [];
    for (const file of list) {
      const part = parseJobFileKey(file.Key);
      if (
        part.prefix !== at.prefix ||
        part.site !== at.site ||
        !part.name.startsWith(at.name.replace(/manifest\.json$/, ""))
      )
        throw new InvalidOutputError(
          `the foreach manifest of "${dep}" lists ${file.Key}, outside its map run's folder`,
        );
      const local = join(folder, part.name.slice(part.name.lastIndexOf("/") + 1));
      await store.download(ref, part.name, join(jobDir, local));
      paths.push(local);
    }
    return paths;
  };
  return {
    mapRunArn: parsed.data.MapRunArn,
    succeeded: await stage(files.SUCCEEDED),
    failed: await stage(files.FAILED),
    pending: await stage(files.PENDING),
  };
}

/** Parses JSON a step produced; throws `InvalidOutputError` naming `where`. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidOutputError(`${where} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
