import type { TaskFailure } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import type { TaskClient } from "../lambda/task-client.ts";
import { stepMessage } from "../testing.ts";
import { SILENT_LOGGER } from "../worker/logger.ts";
import type { QueueMessage, ReceiveOptions } from "../worker/queue.ts";
import { FunctionHost, type FunctionQueue } from "./function-host.ts";

/** An in-memory queue port: hands out the given messages once, records deletes. */
class FakeQueues implements FunctionQueue {
  readonly name = "fake";
  readonly deleted: string[] = [];
  constructor(private pending: QueueMessage[]) {}

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const batch = this.pending.splice(0, options.maxMessages);
    if (batch.length > 0) return batch;
    await new Promise((resolve) => options.signal?.addEventListener("abort", resolve, { once: true }));
    return [];
  }

  async delete(receipt: string) {
    this.deleted.push(receipt);
  }
}

class RecordingTasks implements TaskClient {
  readonly calls: string[] = [];
  async sendTaskSuccess(token: string, outputJson: string) {
    this.calls.push(`success ${token} ${outputJson}`);
  }
  async sendTaskFailure(token: string, failure: TaskFailure) {
    this.calls.push(`failure ${token} ${failure.error}`);
  }
  async sendTaskHeartbeat(token: string) {
    this.calls.push(`heartbeat ${token}`);
  }
}

function message(id: string, body: string): QueueMessage {
  return { id, receipt: `r-${id}`, body, receiveCount: 1 };
}

async function serve(
  queues: FakeQueues,
  tasks: RecordingTasks,
  handler: unknown,
  until: (host: FunctionHost) => boolean,
) {
  const host = new FunctionHost({
    functions: [{ workflow: "hello", step: "load", queue: queues, handler, timeoutSeconds: 30 }],
    tasks,
    logger: SILENT_LOGGER,
    concurrency: 1,
  });
  host.start();
  for (let i = 0; i < 200 && !until(host); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  await host.stop(1000);
  return host;
}

describe("FunctionHost", () => {
  it("answers Step Functions through the Lambda adapter and deletes answered messages", async () => {
    const queues = new FakeQueues([message("m1", JSON.stringify(stepMessage({ token: "t1" })))]);
    const tasks = new RecordingTasks();
    const host = await serve(
      queues,
      tasks,
      () => ({ rows: 3 }),
      () => queues.deleted.length > 0,
    );
    expect(tasks.calls).toEqual(['success t1 {"rows":3}']);
    expect(queues.deleted).toEqual(["r-m1"]);
    expect(host.stats).toMatchObject({ invocations: 1, deleted: 1, returned: 0 });
  });

  it("reports a handler's error as a task failure and deletes the message", async () => {
    const queues = new FakeQueues([message("m1", JSON.stringify(stepMessage({ token: "t1" })))]);
    const tasks = new RecordingTasks();
    const failing = () => {
      throw new Error("no rows");
    };
    await serve(queues, tasks, failing, () => queues.deleted.length > 0);
    expect(tasks.calls).toEqual(["failure t1 Ferry.StepFailed"]);
    expect(queues.deleted).toEqual(["r-m1"]);
  });

  it("leaves an invalid message or one for another step on the queue, running nothing, as the event source mapping would", async () => {
    const queues = new FakeQueues([
      message("bad", "{ not json"),
      message("other", JSON.stringify(stepMessage({ step: "transform" }))),
    ]);
    const tasks = new RecordingTasks();
    let calls = 0;
    const host = await serve(
      queues,
      tasks,
      () => ({ n: ++calls }),
      () => host0Done(),
    );
    function host0Done() {
      return false;
    }
    expect(calls).toBe(0);
    expect(tasks.calls).toEqual([]);
    expect(queues.deleted).toEqual([]);
    expect(host.stats).toMatchObject({ invocations: 2, returned: 2 });
  });
});
