import type { TaskFailure } from "@ferry/dsl-compiler/contract";
import type { TaskClient } from "./task-client.ts";

/**
 * Delays of the heartbeats sent after a `SendTaskSuccess` on LocalStack.
 * @default [300, 1500] ms
 */
export const LOCALSTACK_NUDGE_DELAYS_MS = [300, 1500] as const;

/**
 * A {@link TaskClient} for LocalStack 4.14 that follows every
 * `SendTaskSuccess` with two `SendTaskHeartbeat` calls. LocalStack arms a
 * task's heartbeat timer only after it has sent the task's SQS message and
 * recorded the submission, and an answer that arrives before that is stored
 * but never read: the task then times out after `HeartbeatSeconds`. A later
 * heartbeat wakes the waiting task, which reads the stored answer. On AWS the
 * nudges are not needed (and are refused once the task has moved on), so
 * the adapter uses this client only when `FERRY_SUCCESS_NUDGES_MS` is set,
 * which the construct never does and `ferry functions serve` does only with
 * an endpoint override.
 *
 * Failures are not followed by nudges: LocalStack reuses a task's token and
 * stored answer for its retry, and a heartbeat would make the retry read the
 * previous attempt's failure.
 */
export class LocalStackTaskClient implements TaskClient {
  constructor(
    private readonly inner: TaskClient,
    private readonly delaysMs: readonly number[] = LOCALSTACK_NUDGE_DELAYS_MS,
  ) {}

  async sendTaskSuccess(token: string, outputJson: string): Promise<void> {
    await this.inner.sendTaskSuccess(token, outputJson);
    for (const delayMs of this.delaysMs) {
      setTimeout(() => {
        // A refused nudge only means the task already moved on, which is the point.
        this.inner.sendTaskHeartbeat(token).catch((error: unknown) => error);
      }, delayMs).unref();
    }
  }

  sendTaskFailure(token: string, failure: TaskFailure): Promise<void> {
    return this.inner.sendTaskFailure(token, failure);
  }

  sendTaskHeartbeat(token: string): Promise<void> {
    return this.inner.sendTaskHeartbeat(token);
  }
}
