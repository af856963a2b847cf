import { describe, expect, it } from "vitest";
import type { SqsEvent } from "../lambda/sqs-event.ts";
import { SILENT_LOGGER } from "../worker/logger.ts";
import type { QueueMessage, ReceiveOptions } from "../worker/queue.ts";
import {
  type BatchInvoker,
  FunctionHost,
  type FunctionQueue,
  failedRecords,
  type InvokeOutcome,
  type ServedFunction,
} from "./function-host.ts";

/** An in-memory queue port: hands out the given messages once, records deletes and receive sizes. */
class FakeQueue implements FunctionQueue {
  readonly name = "fake";
  readonly deleted: string[] = [];
  readonly receives: number[] = [];
  constructor(private pending: QueueMessage[]) {}

  add(...messages: QueueMessage[]) {
    this.pending.push(...messages);
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    this.receives.push(options.maxMessages);
    const batch = this.pending.splice(0, options.maxMessages);
    if (batch.length > 0 || options.waitSeconds === 0) return batch;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(options.waitSeconds * 1000, 50));
      options.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    return this.pending.splice(0, options.maxMessages);
  }

  async delete(receipt: string) {
    this.deleted.push(receipt);
  }

  readonly visibility: Array<[string, number]> = [];
  async changeVisibility(receipt: string, seconds: number) {
    this.visibility.push([receipt, seconds]);
  }
}

/** As SQS: a long poll goes on after its request was aborted, and brings what arrives meanwhile. */
class LongPollQueue extends FakeQueue {
  private arrive: ((m: QueueMessage[]) => void) | undefined;
  receiving = 0;
  override async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    this.receiving += 1;
    return new Promise((resolve) => {
      this.arrive = resolve;
      setTimeout(() => resolve([]), options.waitSeconds * 1000).unref();
    });
  }
  deliver(...messages: QueueMessage[]) {
    this.arrive?.(messages);
  }
}

/** Answers each event with `answer` and remembers the events. */
class FakeInvoker implements BatchInvoker {
  readonly events: SqsEvent[] = [];
  closed = false;
  constructor(private readonly answer: (event: SqsEvent) => InvokeOutcome) {}
  async invoke(event: SqsEvent) {
    this.events.push(event);
    return this.answer(event);
  }
  async close() {
    this.closed = true;
  }
}

function message(id: string): QueueMessage {
  return { id, receipt: `r-${id}`, body: `{"n":"${id}"}`, receiveCount: 1 };
}

async function serve(
  fn: Partial<ServedFunction> & Pick<ServedFunction, "queue" | "invoker">,
  until: () => boolean,
) {
  const host = new FunctionHost({
    functions: [{ workflow: "hello", step: "load", ...fn }],
    logger: SILENT_LOGGER,
    concurrency: 1,
    waitSeconds: 1,
  });
  host.start();
  for (let i = 0; i < 400 && !until(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  await host.stop(1000);
  return host;
}

describe("FunctionHost", () => {
  it("given a batch with one reported failure, when invoked, then the others are deleted and that one stays on the queue", async () => {
    const queue = new FakeQueue([message("m1"), message("m2"), message("m3")]);
    const invoker = new FakeInvoker(() => ({
      kind: "response",
      response: { batchItemFailures: [{ itemIdentifier: "m2" }] },
    }));
    const host = await serve({ queue, invoker, batchSize: 3 }, () => queue.deleted.length >= 2);
    expect(invoker.events[0]!.Records.map((r) => r.messageId)).toEqual(["m1", "m2", "m3"]);
    expect(invoker.events[0]!.Records[0]).toEqual({
      messageId: "m1",
      body: '{"n":"m1"}',
      attributes: { ApproximateReceiveCount: "1" },
    });
    expect(queue.deleted).toEqual(["r-m1", "r-m3"]);
    expect(host.stats).toMatchObject({ invocations: 1, deleted: 2, returned: 1, functionErrors: 0 });
    expect(invoker.closed).toBe(true);
  });

  it("given a function error (timeout, crash), when invoked, then the whole batch returns", async () => {
    const queue = new FakeQueue([message("m1"), message("m2")]);
    const invoker = new FakeInvoker(() => ({
      kind: "error",
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 3.00 seconds",
    }));
    const host = await serve({ queue, invoker, batchSize: 2 }, () => invoker.events.length > 0);
    expect(queue.deleted).toEqual([]);
    expect(host.stats).toMatchObject({ functionErrors: 1, returned: 2 });
  });

  it("given a batching window, when records arrive one by one, then they are gathered into one invocation up to the batch size", async () => {
    const queue = new FakeQueue([message("m1")]);
    setTimeout(() => queue.add(message("m2")), 20);
    setTimeout(() => queue.add(message("m3"), message("m4")), 40);
    const invoker = new FakeInvoker(() => ({ kind: "response", response: null }));
    await serve({ queue, invoker, batchSize: 3, batchWindowSeconds: 2 }, () => invoker.events.length >= 2);
    expect(invoker.events.map((e) => e.Records.map((r) => r.messageId))).toEqual([
      ["m1", "m2", "m3"],
      ["m4"],
    ]);
  });

  it("given no batching window, when one record is there, then it is invoked at once", async () => {
    const queue = new FakeQueue([message("m1")]);
    setTimeout(() => queue.add(message("m2")), 200);
    const invoker = new FakeInvoker(() => ({ kind: "response", response: { batchItemFailures: [] } }));
    await serve({ queue, invoker, batchSize: 10 }, () => invoker.events.length >= 1);
    expect(invoker.events[0]!.Records.map((r) => r.messageId)).toEqual(["m1"]);
  });
});

describe("FunctionHost stopping", () => {
  it("given an open long poll that brings a message after the stop began, then the message is handed back at once and not run", async () => {
    const queue = new LongPollQueue([]);
    const invoker = new FakeInvoker(() => ({ kind: "response", response: null }));
    const host = new FunctionHost({
      functions: [{ workflow: "hello", step: "load", queue, invoker }],
      logger: SILENT_LOGGER,
      concurrency: 1,
      waitSeconds: 20,
    });
    host.start();
    for (let i = 0; i < 400 && queue.receiving === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const stopped = host.stop(1000);
    queue.deliver(message("late"));
    expect(await stopped).toBe(true);
    expect(invoker.events).toEqual([]);
    expect(queue.visibility).toEqual([["r-late", 0]]);
    expect(queue.receiving).toBe(1);
    expect(host.stats).toMatchObject({ invocations: 0, handedBack: 1, deleted: 0 });
  });
});

describe("failedRecords", () => {
  const batch = [message("a"), message("b")];
  const response = (value: unknown): InvokeOutcome => ({ kind: "response", response: value });

  it("given Lambda's documented successes, then no record returns", () => {
    for (const value of [null, undefined, {}, { batchItemFailures: [] }, { batchItemFailures: null }])
      expect(failedRecords(response(value), batch, true)).toEqual({ kind: "some", ids: new Set() });
  });

  it("given an unknown, empty or null identifier or a non-object response, then the whole batch fails", () => {
    for (const value of [
      { batchItemFailures: [{ itemIdentifier: "zzz" }] },
      { batchItemFailures: [{ itemIdentifier: "" }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ id: "a" }] },
      { batchItemFailures: "a" },
      "done",
    ])
      expect(failedRecords(response(value), batch, true).kind).toBe("all");
  });

  it("given a mapping without ReportBatchItemFailures, then a response never returns records", () => {
    expect(failedRecords(response({ batchItemFailures: [{ itemIdentifier: "a" }] }), batch, false)).toEqual({
      kind: "some",
      ids: new Set(),
    });
  });
});
