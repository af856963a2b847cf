/**
 * The one logger interface of Ferry's workers: structured fields first, then
 * the message, as pino takes them, so a pino logger (the agent's) fits as is
 * and {@link jsonLogger} serves Lambda and `ferry functions serve`.
 */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

/** One JSON object per line on the given writer, CloudWatch Logs Insights-friendly. */
export function jsonLogger(write: (line: string) => void, base: Record<string, unknown> = {}): Logger {
  const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
    write(`${JSON.stringify({ level, message, ...base, ...plain(fields) })}\n`);
  return {
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (bindings) => jsonLogger(write, { ...base, ...bindings }),
  };
}

/** Errors under `err` become their name and message: JSON.stringify drops both. */
function plain(fields: Record<string, unknown>): Record<string, unknown> {
  const err = fields.err;
  if (!(err instanceof Error)) return fields;
  return { ...fields, err: { name: err.name, message: err.message } };
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => SILENT_LOGGER,
};
