/** Structured log sink; Lambda ships each stdout line to CloudWatch Logs. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON object per line on the given writer, CloudWatch Logs Insights-friendly. */
export function jsonLogger(write: (line: string) => void, base: Record<string, unknown> = {}): Logger {
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      write(`${JSON.stringify({ level, message, ...base, ...fields })}\n`);
  return { info: log("info"), warn: log("warn"), error: log("error") };
}
