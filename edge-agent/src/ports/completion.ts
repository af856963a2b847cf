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
}
