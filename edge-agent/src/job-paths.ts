import { normalize } from "node:path";
import { unsafePathReason } from "@ferry/dsl-compiler/contract";
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
 * Normalizes a job-file name and refuses ones that escape their folder:
 * names come from the manifest and messages. The rule is the compiler's
 * (`unsafePathReason`: no absolute paths, `..` out, backslashes, control
 * characters or empty segments), so `ferry validate` refuses the same names
 * before they reach a device. `folder` accepts a key prefix: empty, or
 * ending in `/`.
 */
export function safeRelative(name: string, what: string, folder = false): string {
  if (name === "" && folder) return "";
  const reason = unsafePathReason(name, { folder });
  if (reason !== undefined) {
    throw new AgentError(
      "JOB_FILES_FAILED",
      `${what} "${JSON.stringify(name).slice(1, -1)}" must be a relative path inside the job folder: it ${reason}`,
    );
  }
  return normalize(name);
}
