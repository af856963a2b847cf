import type { Queue } from "@ferry/functions/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

export interface QueueHarness {
  queue: Queue;
  send(body: string): Promise<void>;
  /** Bodies that reached the dead-letter queue so far. */
  deadLetters(): Promise<string[]>;
  close?(): Promise<void>;
}

/**
 * The queue behaviour the worker relies on, run against every {@link Queue}
 * (in memory, SQS on LocalStack). Each test gets a fresh queue.
 */
export function describeQueueContract(name: string, create: () => Promise<QueueHarness>): void {
  describe(`${name} queue contract`, () => {
    let h: QueueHarness;
    const opened: QueueHarness[] = [];
    beforeAll(() => undefined);
    afterAll(async () => {
      await Promise.all(opened.map((q) => q.close?.()));
    });
    async function fresh(): Promise<QueueHarness> {
      h = await create();
      opened.push(h);
      return h;
    }
    const receive = (waitSeconds = 1, visibilitySeconds = 30, signal?: AbortSignal) =>
      h.queue.receive({ maxMessages: 10, waitSeconds, visibilitySeconds, ...(signal ? { signal } : {}) });

    it("receives what was sent, once, until deleted", async () => {
      await fresh();
      await h.send("one");
      const [message] = await receive();
      expect(message).toMatchObject({ body: "one", receiveCount: 1 });
      expect(await receive(0)).toEqual([]);
      await h.queue.delete(message!.receipt);
    });

    it("resolves a long poll as soon as a message arrives", async () => {
      await fresh();
      const started = Date.now();
      const pending = receive(10);
      await new Promise((r) => setTimeout(r, 200));
      await h.send("late");
      const messages = await pending;
      expect(messages.map((m) => m.body)).toEqual(["late"]);
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it("hands a message back at once with changeVisibility(0), counting the receive", async () => {
      await fresh();
      await h.send("again");
      const [first] = await receive();
      await h.queue.changeVisibility(first!.receipt, 0);
      const [second] = await receive(2);
      expect(second).toMatchObject({ body: "again", receiveCount: 2 });
      await h.queue.delete(second!.receipt);
    });

    it("redelivers a message whose visibility timeout expired", async () => {
      await fresh();
      await h.send("expire");
      await receive(1, 1);
      const [again] = await receive(5, 30);
      expect(again?.body).toBe("expire");
    });

    it("does not redeliver a deleted message", async () => {
      await fresh();
      await h.send("gone");
      const [message] = await receive(1, 1);
      await h.queue.delete(message!.receipt);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await receive(0)).toEqual([]);
    });

    it("moves a dead-lettered message out of the queue", async () => {
      await fresh();
      await h.send("poison");
      const [message] = await receive();
      await h.queue.deadLetter(message!, "not JSON");
      expect(await h.deadLetters()).toEqual(["poison"]);
      expect(await receive(0)).toEqual([]);
    });

    it("ends a long poll early when aborted", async () => {
      await fresh();
      const controller = new AbortController();
      const started = Date.now();
      const pending = receive(15, 30, controller.signal).catch(() => []);
      setTimeout(() => controller.abort(), 100);
      expect(await pending).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
}
