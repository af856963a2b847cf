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

/** Error names Ferry itself reports. */
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

export type FerryErrorName = (typeof FERRY_ERRORS)[keyof typeof FERRY_ERRORS];

/**
 * The error table: whether another attempt may succeed, per Ferry error name.
 * The compiled Retry policy is generated from it (names marked `false` get a
 * `MaxAttempts: 0` retrier ahead of `States.ALL`), and {@link isRetriable}
 * reads it, so workers and the state machine never disagree.
 */
export const TASK_ERROR_RETRYABLE: Readonly<Record<FerryErrorName, boolean>> = {
  "Ferry.NonRetriable": false,
  "Ferry.ExitCode": true,
  "Ferry.Timeout": true,
  "Ferry.AgentShutdown": true,
  "Ferry.InvalidOutput": true,
  "Ferry.RuntimeError": true,
  "Ferry.HttpError": true,
  "Ferry.StepFailed": true,
};

/** Error names the compiled Retry policy never retries. */
export const NON_RETRIABLE_ERRORS: readonly string[] = Object.entries(TASK_ERROR_RETRYABLE)
  .filter(([, retryable]) => !retryable)
  .map(([name]) => name);

/**
 * Whether the compiled Retry policy retries this error (attempts left
 * permitting): an error name, a {@link TaskFailure}, or anything thrown
 * (named through {@link toTaskFailure}). A user's own error names are retried.
 */
export function isRetriable(error: unknown): boolean {
  const name =
    typeof error === "string" ? error : isTaskFailure(error) ? error.error : toTaskFailure(error).error;
  return !NON_RETRIABLE_ERRORS.includes(name);
}

function isTaskFailure(value: unknown): value is TaskFailure {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { error?: unknown }).error === "string"
  );
}

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
