import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SILENT_LOGGER } from "./logger.ts";
import { pollQueue, type ReceivedBatch } from "./poll.ts";
import type { Queue, QueueMessage, ReceiveOptions } from "./queue.ts";

/** A queue whose receive answers come from a script: an array of messages, or an error to throw. */
function scriptedQueue(script: Array<QueueMessage[] | Error>): Queue & { calls: ReceiveOptions[] } {
  const calls: ReceiveOptions[] = [];
  return {
    name: "scripted",
    calls,
    async receive(options) {
      calls.push(options);
      const next = script.shift();
      if (next instanceof Error) throw next;
      if (next) return next;
      // Script done: long-poll until aborted, as SQS does with nothing to deliver.
      await new Promise<void>((resolve) => options.signal?.addEventListener("abort", () => resolve()));
      return [];
    },
    delete: async () => {},
    changeVisibility: async () => {},
    deadLetter: async () => {},
  };
}

const message = (id: string): QueueMessage => ({ id, receipt: `r-${id}`, body: "{}", receiveCount: 1 });

describe("pollQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("yields non-empty batches, asks for what the consumer can take, and hands back what was not filled", async () => {
    const queue = scriptedQueue([[message("a")], [], [message("b"), message("c")]]);
    const abort = new AbortController();
    const released: number[] = [];
    const seen: string[] = [];
    const loop = (async () => {
      for await (const batch of pollQueue(queue, {
        signal: abort.signal,
        visibilitySeconds: 30,
        acquire: () => 3,
        release: (n) => released.push(n),
        logger: SILENT_LOGGER,
      })) {
        seen.push(...batch.messages.map((m) => m.id));
        if (seen.length === 3) abort.abort();
      }
    })();
    await vi.advanceTimersByTimeAsync(0);
    await loop;
    expect(seen).toEqual(["a", "b", "c"]);
    expect(queue.calls.map((c) => c.maxMessages)).toEqual([3, 3, 3]);
    expect(queue.calls[0]).toMatchObject({ waitSeconds: 20, visibilitySeconds: 30 });
    expect(released).toEqual([2, 3, 1]);
  });

  it("backs off with jitter after failed receives, and resets after a success", async () => {
    const queue = scriptedQueue([new Error("down"), new Error("down"), [message("a")]]);
    const abort = new AbortController();
    const errors: unknown[] = [];
    const batches: ReceivedBatch[] = [];
    const random = vi.spyOn(Math, "random").mockReturnValue(1);
    const loop = (async () => {
      for await (const batch of pollQueue(queue, {
        signal: abort.signal,
        visibilitySeconds: 30,
        backoff: { baseMs: 100, maxMs: 10_000 },
        logger: SILENT_LOGGER,
        onReceiveError: (error) => errors.push(error),
      })) {
        batches.push(batch);
        abort.abort();
      }
    })();
    await vi.advanceTimersByTimeAsync(99);
    expect(queue.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(queue.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await loop;
    random.mockRestore();
    expect(queue.calls).toHaveLength(3);
    expect(errors).toHaveLength(2);
    expect(batches.map((b) => b.messages.length)).toEqual([1]);
  });

  it("ends promptly when aborted during a backoff or a long poll", async () => {
    const queue = scriptedQueue([new Error("down")]);
    const abort = new AbortController();
    let ended = false;
    const loop = (async () => {
      for await (const _ of pollQueue(queue, {
        signal: abort.signal,
        visibilitySeconds: 30,
        backoff: { baseMs: 60_000, maxMs: 60_000 },
        logger: SILENT_LOGGER,
      })) {
        // nothing is delivered
      }
      ended = true;
    })();
    await vi.advanceTimersByTimeAsync(10);
    abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    await loop;
    expect(ended).toBe(true);
    expect(queue.calls).toHaveLength(1);
  });
});
