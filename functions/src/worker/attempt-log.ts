import { logName } from "@ferry/dsl-compiler/contract";
import type { JobFileStore, JobFilesRef } from "../job-files/store.ts";
import type { Logger } from "./logger.ts";

/** Cap on each of stdout and stderr kept per attempt, for every worker (edge agent, `ferry run`, Lambda). */
export const DEFAULT_LOG_CAP_BYTES = 1024 * 1024;

/** What one attempt's log shows. */
export interface AttemptLogRecord {
  step: string;
  attempt: number;
  /** A `foreach` item's index (the message's `index`): items of one attempt number get their own key. */
  item?: number;
  /** A batched `foreach` child's `batchId`: batches of one attempt number get their own key too. */
  batch?: string;
  /** `process`, `docker`, `lambda`, … */
  runtime: string;
  outcome: string;
  /** `null` when killed by a signal or when the runtime has no exit code. */
  exitCode: number | null;
  durationMs: number;
  error?: string;
  cause?: string;
  /** Already capped (head and tail kept). */
  stdout: string;
  stderr: string;
}

/**
 * One attempt's log as `ferry run` keeps it under `.ferry/runs/<id>/logs/`
 * and workers upload it under the contract's `logName` key: a header
 * (outcome, exit code, duration, error), then stdout and stderr as the
 * worker captured them (already capped at the log cap each).
 */
export function formatAttemptLog(a: AttemptLogRecord): string {
  const head = `# ${a.step} attempt ${a.attempt} (${a.runtime}): ${a.outcome}${a.exitCode !== null ? `, exit ${a.exitCode}` : ""}, ${a.durationMs} ms`;
  const failure = a.error ? `\n# ${a.error}: ${a.cause}` : "";
  return `${head}${failure}\n--- stdout ---\n${a.stdout}${a.stdout.endsWith("\n") || !a.stdout ? "" : "\n"}--- stderr ---\n${a.stderr}${a.stderr.endsWith("\n") || !a.stderr ? "" : "\n"}`;
}

/**
 * Uploads the attempt's log under the contract's `logName` key of the
 * step's site, where `ferry logs <execution-arn>` and `ferry ui` read it.
 * A failed upload is logged, never fails the step.
 */
export async function uploadAttemptLog(
  store: JobFileStore,
  ref: JobFilesRef,
  record: AttemptLogRecord,
  logger: Logger,
): Promise<void> {
  const name = logName({
    step: record.step,
    attempt: record.attempt,
    ...(record.item !== undefined ? { item: record.item } : {}),
    ...(record.batch !== undefined ? { batch: record.batch } : {}),
  });
  await store
    .put(ref, name, formatAttemptLog(record))
    .catch((error: unknown) => logger.warn({ err: error, key: name }, "could not upload the attempt's log"));
}
