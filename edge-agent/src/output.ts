import {
  isOutputRef,
  MAX_PAYLOAD_BYTES,
  type OutputRef,
  type StepInput,
  type TaskFailure,
} from "@ferry/dsl-compiler/contract";
import { readContained } from "./contained-files.ts";
import { AgentError } from "./errors.ts";
import { ERROR_FILE, OUTPUT_FILE } from "./job-paths.ts";
import type { JobFileStore, JobFilesRef } from "./ports/job-files.ts";

/** Largest `.output.json`/`.error.json` read: an output past it would go by reference anyway. */
const MAX_OUTPUT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a process or container step's output: `.output.json` in its job
 * folder if written, else the JSON object on the last stdout line, else `{}`
 * (a step that prints nothing still returns a JSON object, as the contract says).
 */
export async function readStepOutput(jobDir: string, lastStdoutLine: string | undefined): Promise<unknown> {
  const fromFile = await readContained(jobDir, OUTPUT_FILE, OUTPUT_FILE, MAX_OUTPUT_FILE_BYTES);
  if (fromFile !== undefined) return parseJson(fromFile, OUTPUT_FILE);
  if (lastStdoutLine?.startsWith("{")) return parseJson(lastStdoutLine, "the last stdout line");
  return {};
}

/** A failing step may name its error in `.error.json`: `{ "error": "...", "cause": "..." }`. */
export async function readStepError(jobDir: string): Promise<TaskFailure | undefined> {
  const text = await readContained(jobDir, ERROR_FILE, ERROR_FILE, MAX_OUTPUT_FILE_BYTES);
  if (text === undefined) return undefined;
  try {
    const json = JSON.parse(text) as { error?: unknown; cause?: unknown };
    if (typeof json.error !== "string" || json.error === "") return undefined;
    return { error: json.error, cause: typeof json.cause === "string" ? json.cause : "" };
  } catch {
    // A malformed error file must not hide the exit code; the default name applies.
    return undefined;
  }
}

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
    throw new AgentError(
      "INVALID_OUTPUT",
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
    throw new AgentError(
      "JOB_FILES_FAILED",
      "step input holds an output reference but this worker has no job-file store",
    );
  const deps = { ...input.deps };
  for (const [dep, value] of refs) {
    const { bucket, prefix, site, name } = (value as OutputRef).ferryOutputRef;
    const body = await store.get({ bucket, prefix, site }, name);
    deps[dep] = parseJson(body.toString("utf8"), `the stored output of "${dep}"`);
  }
  return { ...input, deps };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AgentError("INVALID_OUTPUT", `${where} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
