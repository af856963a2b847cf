/** Errors of the device itself (disk full, permissions, I/O), not of the step. */
const LOCAL_CODES = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EIO", "EROFS"]);

/**
 * The errno code when `error` (or anything in its cause chain) is a fault
 * of this device's own storage. Such a failure while staging says nothing
 * about the step: the message is handed back for a retry later (here or on
 * another agent) instead of using up one of the step's attempts.
 */
export function localFaultOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && LOCAL_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
