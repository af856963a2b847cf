import { normalize } from "node:path";
import { unsafePathReason } from "@ferry/dsl-compiler/contract";
import { JobFilesError } from "../errors.ts";

/**
 * Normalizes a job-file name and refuses ones that escape their folder:
 * names come from the manifest and messages. The rule is the compiler's
 * (`unsafePathReason`: no absolute paths, `..` out, backslashes, control
 * characters or empty segments), so `ferry validate` refuses the same names
 * before they reach a worker. `folder` accepts a key prefix: empty, or
 * ending in `/`.
 */
export function safeRelative(name: string, what: string, folder = false): string {
  if (name === "" && folder) return "";
  const reason = unsafePathReason(name, { folder });
  if (reason !== undefined) {
    throw new JobFilesError(
      `${what} "${JSON.stringify(name).slice(1, -1)}" must be a relative path inside the job folder: it ${reason}`,
    );
  }
  return normalize(name);
}
