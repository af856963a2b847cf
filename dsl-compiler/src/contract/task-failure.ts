/**
 * The one place that turns a worker-side error into Step Functions'
 * `SendTaskFailure(error, cause)`. Error names are what Retry/Catch match on.
 */
export interface TaskFailure {
  /** ≤ 256 characters, e.g. `Ferry.ExitCode`, `Ferry.NonRetriable`, or the user's error name. */
  error: string;
  /** ≤ 32,768 characters: a message a person can act on. */
  cause: string;
}

/** Error names Ferry itself reports. `Ferry.NonRetriable` is never retried by the compiled Retry policy. */
export const FERRY_ERRORS = {
  nonRetriable: "Ferry.NonRetriable",
  exitCode: "Ferry.ExitCode",
  timeout: "Ferry.Timeout",
  agentShutdown: "Ferry.AgentShutdown",
  invalidOutput: "Ferry.InvalidOutput",
  runtime: "Ferry.RuntimeError",
  http: "Ferry.HttpError",
  stepFailed: "Ferry.StepFailed",
} as const;

const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

/**
 * Maps anything thrown by a step or a runtime. An error may choose its name
 * through a `taskError` property (Ferry's own errors do); otherwise a
 * user's named error class keeps its name, and the rest is `Ferry.StepFailed`.
 */
export function toTaskFailure(error: unknown): TaskFailure {
  if (error instanceof Error) {
    const named = (error as { taskError?: unknown }).taskError;
    const name =
      typeof named === "string"
        ? named
        : error.name && error.name !== "Error"
          ? error.name
          : FERRY_ERRORS.stepFailed;
    return { error: name.slice(0, MAX_ERROR), cause: (error.message || name).slice(0, MAX_CAUSE) };
  }
  const text = typeof error === "string" ? error : safeJson(error);
  return { error: FERRY_ERRORS.stepFailed, cause: text.slice(0, MAX_CAUSE) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Circular or exotic values: their string form is the best cause left.
    return String(value);
  }
}
