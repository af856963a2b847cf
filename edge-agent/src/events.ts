import type { CacheOrigin } from "@ferry/dsl-compiler/contract";
import type { AttemptOutcome } from "@ferry/functions/cache";

/** Identifies one attempt of one step of one execution. */
export interface AttemptInfo {
  workflow: string;
  execution: string;
  step: string;
  attempt: number;
  /** A `foreach` item's index, when the message carries one. */
  item?: number;
  /** A batched `foreach` child's `batchId` (a batch has no index). */
  batch?: string;
  token: string;
  /** Runtime that ran it: `process`, `docker`, `podman`, `function`, `http`. */
  runtime: string;
}

/** How an attempt ended (see `AttemptOutcome` in `@ferry/functions/cache`). */
export type { AttemptOutcome };

export interface AttemptFinished extends AttemptInfo {
  outcome: AttemptOutcome;
  /** What the step cache did: `hit` answered without running, naming the attempt that ran it. */
  cache?: { status: "hit" | "miss" | "off"; key?: string; origin?: CacheOrigin };
  /** The output reported (possibly an output reference), on success. */
  output?: unknown;
  /** Step Functions error name and cause, on failure. */
  error?: string;
  cause?: string;
  /** `null` when killed by a signal or when the runtime has no exit code. */
  exitCode: number | null;
  /** The step's log, capped (head and tail kept). */
  stdout: string;
  stderr: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
}

/** Hooks for `ferry run` (per-attempt logs, live view) and for tests. Handlers must not throw. */
export interface WorkerHooks {
  onAttemptStarted?(attempt: AttemptInfo & { startedAt: Date }): void;
  onAttemptFinished?(attempt: AttemptFinished): void;
  /** A message moved to the dead-letter queue, with the reason. */
  onDeadLetter?(reason: string, body: string): void;
}

/** What the worker measures; the Prometheus adapter implements it. */
export interface WorkerMetrics {
  attemptStarted(): void;
  attemptFinished(outcome: AttemptOutcome, durationSeconds: number): void;
  /** Seconds a receive call took when it returned messages. */
  received(count: number, latencySeconds: number): void;
  heartbeatFailed(): void;
  deadLettered(): void;
}

export const NO_METRICS: WorkerMetrics = {
  attemptStarted: () => undefined,
  attemptFinished: () => undefined,
  received: () => undefined,
  heartbeatFailed: () => undefined,
  deadLettered: () => undefined,
};
