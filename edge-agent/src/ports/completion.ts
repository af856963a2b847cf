import type { StepMessage } from "@ferry/dsl-compiler/contract";

/**
 * How a worker answers Step Functions for a task token. Implementations:
 * `SfnCompletion` (SendTaskSuccess/Failure/Heartbeat) and
 * {@link CallbackCompletion} / {@link RecordingCompletion} in memory.
 *
 * Every method rejects with `AgentError("TASK_GONE")` when the token is no
 * longer answerable (timed out, already answered, unknown): the worker then
 * stops the step and drops the message. Any other rejection is treated as
 * transient and retried with backoff.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
 */
export interface Completion {
  /** `output` is any JSON value; its serialized form is ≤ 256 KiB. */
  success(token: string, output: unknown): Promise<void>;
  failure(token: string, error: string, cause: string): Promise<void>;
  heartbeat(token: string): Promise<void>;
  /**
   * Tells, before anything of the step runs, whether Step Functions issued
   * `message.token` and still waits for it. Optional: without it the worker
   * sends one heartbeat and reads the answer (`checkToken` in token-check.ts).
   */
  checkToken?(message: StepMessage): Promise<TokenCheck>;
}

/** What a message's task token turned out to be, before its step ran. */
export type TokenCheck =
  | { kind: "live" }
  /** Never a task's token (forged, or another step's): the message is dead-lettered with `reason`. */
  | { kind: "refused"; reason: string }
  /** A real task that timed out, was answered or whose execution closed: a late redelivery, dropped. */
  | { kind: "gone"; reason: string }
  /** Step Functions could not be asked (unreachable, throttled): the message is handed back. */
  | { kind: "unknown"; error: unknown };
