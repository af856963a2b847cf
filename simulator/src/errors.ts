/** Stable codes of {@link SimulatorError}. */
export type SimulatorErrorCode = "INVALID_INPUT" | "BROKEN_INVARIANT" | "IO";

/**
 * The simulator's one error class. User input problems come back as
 * diagnostics; this is thrown only when a caller skips those checks or a file
 * cannot be read or written.
 */
export class SimulatorError extends Error {
  override readonly name = "SimulatorError";
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
