import type { TaskFailure } from "@ferry/dsl-compiler/contract";
import { parseJson, readContained } from "@ferry/functions/job-files";
import { ERROR_FILE, OUTPUT_FILE } from "./job-paths.ts";

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
