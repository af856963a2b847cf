import type { TaskFailure } from "@ferry/dsl-compiler/contract";

/** The Step Functions calls a worker answers a task token with; SDK-free so the batch logic stays pure. */
export interface TaskClient {
  sendTaskSuccess(token: string, outputJson: string): Promise<void>;
  sendTaskFailure(token: string, failure: TaskFailure): Promise<void>;
  sendTaskHeartbeat(token: string): Promise<void>;
}

/**
 * What a failed SendTask* call means for the SQS message:
 * - `gone`: the task is over (timed out, execution stopped); answering again cannot help, so delete the message.
 * - `invalid-output`: Step Functions refused the output; report a failure instead.
 * - `transient`: throttling, 5xx, network, or an unknown error; leave the message on the queue to retry
 *   (after `maxReceiveCount` receives it moves to the dead-letter queue).
 */
export type TaskCallErrorKind = "gone" | "invalid-output" | "transient";

const GONE = new Set(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]);

/** @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html#API_SendTaskSuccess_Errors */
export function classifyTaskCallError(error: unknown): TaskCallErrorKind {
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  if (typeof name === "string" && GONE.has(name)) return "gone";
  if (name === "InvalidOutput") return "invalid-output";
  return "transient";
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
