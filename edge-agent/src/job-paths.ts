import { isAbsolute, normalize } from "node:path";
import { AgentError } from "./errors.ts";

/** Where job files appear inside a task container. */
export const CONTAINER_JOB_DIR = "/ferry/job";
/** File a step may write instead of printing its output on the last stdout line. */
export const OUTPUT_FILE = ".output.json";
/** File a failing step may write to choose its error name: `{ "error": "...", "cause": "..." }`. */
export const ERROR_FILE = ".error.json";
/** Job file holding a step's input (always written; named by `FERRY_INPUT_FILE`). */
export const INPUT_FILE = ".input.json";

/**
 * Normalizes a job-file name and refuses ones that escape their folder
 * (`..`, absolute paths): names come from the manifest and messages.
 */
export function safeRelative(name: string, what: string, allowEmpty = false): string {
  if (name === "" && allowEmpty) return "";
  const normal = normalize(name);
  if (
    name === "" ||
    isAbsolute(name) ||
    normal === ".." ||
    normal.startsWith("../") ||
    normal.includes("\0")
  ) {
    throw new AgentError(
      "JOB_FILES_FAILED",
      `${what} "${name}" must be a relative path inside the job folder`,
    );
  }
  return normal;
}
