/**
 * The retry rule: a step's `maxAttempts` counts the first attempt, so
 * Step Functions' `MaxAttempts` (which counts retries) is one less.
 */
export function maxRetries(maxAttempts: number): number {
  return Math.max(0, maxAttempts - 1);
}

/** Whether attempt `attempt` (1 for the first) is the last one `maxAttempts` allows. */
export function isFinalAttempt(attempt: number, maxAttempts: number): boolean {
  return attempt >= maxAttempts;
}

/** What a Retry field waits before retrying. */
export interface RetryDelayOptions {
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds?: number;
}

/**
 * Step Functions' wait before attempt `attempt + 1` after attempt `attempt`
 * failed: `IntervalSeconds · BackoffRate^(attempt-1)`, capped by `MaxDelaySeconds`
 * (jitter aside).
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
export function retryDelaySeconds(retry: RetryDelayOptions, attempt: number): number {
  const delay = retry.intervalSeconds * retry.backoffRate ** Math.max(0, attempt - 1);
  return Math.min(delay, retry.maxDelaySeconds ?? Number.POSITIVE_INFINITY);
}

/** Shortest heartbeat period: beating more often only costs API calls. */
const MIN_HEARTBEAT_INTERVAL_MS = 1000;

/**
 * How often a worker sends SendTaskHeartbeat for a step with
 * `heartbeatSeconds`: three beats per window, so one lost or slow call does
 * not time the task out. `undefined` when the step has no heartbeat.
 */
export function heartbeatIntervalMs(heartbeatSeconds: number | undefined): number | undefined {
  if (heartbeatSeconds === undefined || !(heartbeatSeconds > 0)) return undefined;
  return Math.max(MIN_HEARTBEAT_INTERVAL_MS, Math.floor((heartbeatSeconds * 1000) / 3));
}
