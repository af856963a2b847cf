import { isOutputRef, MAX_PAYLOAD_BYTES, type OutputRef, type StepInput } from "@ferry/dsl-compiler/contract";
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

/** Replaces output references in `input.deps` by the outputs they point to. */
export async function resolveInputRefs(
  input: StepInput,
  store: JobFileStore | undefined,
): Promise<StepInput> {
  const refs = Object.entries(input.deps).filter(([, value]) => isOutputRef(value));
  if (refs.length === 0) return input;
  if (!store)
    throw new JobFilesError("step input holds an output reference but this worker has no job-file store");
  const deps = { ...input.deps };
  for (const [dep, value] of refs) {
    const { bucket, prefix, site, name } = (value as OutputRef).ferryOutputRef;
    const body = await store.get({ bucket, prefix, site }, name);
    deps[dep] = parseJson(body.toString("utf8"), `the stored output of "${dep}"`);
  }
  return { ...input, deps };
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
