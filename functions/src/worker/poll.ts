import { type BackoffOptions, backoffDelayMs, sleep } from "./backoff.ts";
import type { Logger } from "./logger.ts";
import type { Queue, QueueMessage } from "./queue.ts";

export interface PollOptions {
  /** Aborting ends the loop; a long poll in progress ends early. */
  signal: AbortSignal;
  /** Long-poll wait of each receive. @default 20 */
  waitSeconds?: number;
  /** Visibility timeout given to received messages. @default the queue's own */
  visibilitySeconds?: number;
  /**
   * Resolves with how many messages the consumer can take now (1–10), waiting
   * until it can take at least one; 0 (e.g. on abort) skips this receive.
   * @default always 1
   */
  acquire?: (signal: AbortSignal) => Promise<number> | number;
  /** Hands back capacity acquired but not filled (a short or failed receive). */
  release?: (count: number) => void;
  backoff?: BackoffOptions;
  logger: Logger;
  /** Called for every failed receive, before the backoff. */
  onReceiveError?: (error: unknown) => void;
}

/** One receive's messages (never empty), with how long the receive took. */
export interface ReceivedBatch {
  messages: QueueMessage[];
  receiveSeconds: number;
}

/**
 * The one poll loop of Ferry's workers, as an async iterator: long-polls
 * `queue` while the consumer has room, backs off with full jitter after a
 * failed receive, and ends when `signal` aborts. The consumer's work between
 * two `next()` calls holds the loop back, as a Lambda poller waits for its
 * invocation.
 */
export async function* pollQueue(
  queue: Pick<Queue, "name" | "receive">,
  options: PollOptions,
): AsyncGenerator<ReceivedBatch> {
  const { signal, logger } = options;
  const acquire = options.acquire ?? (() => 1);
  const release = options.release ?? (() => {});
  for (let failures = 0; !signal.aborted; ) {
    const taken = Math.min(10, await acquire(signal));
    if (signal.aborted) {
      if (taken > 0) release(taken);
      return;
    }
    if (taken <= 0) continue;
    const startedMs = performance.now();
    let messages: QueueMessage[];
    try {
      messages = await queue.receive({
        maxMessages: taken,
        waitSeconds: options.waitSeconds ?? 20,
        ...(options.visibilitySeconds !== undefined ? { visibilitySeconds: options.visibilitySeconds } : {}),
        signal,
      });
      failures = 0;
    } catch (error) {
      release(taken);
      if (signal.aborted) return;
      options.onReceiveError?.(error);
      const delayMs = backoffDelayMs(failures++, options.backoff);
      logger.warn(
        { err: error, delayMs, queue: queue.name },
        `receive failed (${error instanceof Error ? error.message : String(error)}); backing off`,
      );
      await sleep(delayMs, signal);
      continue;
    }
    if (messages.length < taken) release(taken - messages.length);
    if (messages.length > 0) yield { messages, receiveSeconds: (performance.now() - startedMs) / 1000 };
  }
}
