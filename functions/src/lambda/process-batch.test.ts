import { FERRY_ERRORS, type TaskFailure } from "@ferry/dsl-compiler/contract";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NonRetriableError } from "../errors.ts";
import type { StepHandler } from "../step-adapter.ts";
import { stepMessage } from "../testing.ts";
import type { Logger } from "../worker/logger.ts";
import type { ResolvedLambdaConfig } from "./config.ts";
import { processSqsBatch } from "./process-batch.ts";
import type { SqsEvent } from "./sqs-event.ts";
import type { TaskClient } from "./task-client.ts";

type Call =
  | { kind: "success"; token: string; output: unknown }
  | { kind: "failure"; token: string; failure: TaskFailure }
  | { kind: "heartbeat"; token: string };

class FakeTasks implements TaskClient {
  readonly calls: Call[] = [];
  /** Errors to throw, by call kind, consumed in order. */
  readonly errors: Partial<Record<Call["kind"], unknown[]>> = {};
  private fail(kind: Call["kind"]): void {
    const error = this.errors[kind]?.shift();
    if (error) throw error;
  }
  async sendTaskSuccess(token: string, outputJson: string) {
    this.fail("success");
    this.calls.push({ kind: "success", token, output: JSON.parse(outputJson) });
  }
  async sendTaskFailure(token: string, failure: TaskFailure) {
    this.fail("failure");
    this.calls.push({ kind: "failure", token, failure });
  }
  async sendTaskHeartbeat(token: string) {
    this.fail("heartbeat");
    this.calls.push({ kind: "heartbeat", token });
  }
}

function awsError(name: string): Error {
  return Object.assign(new Error(`${name} from Step Functions`), { name });
}

const config: ResolvedLambdaConfig = {
  workflow: "hello",
  step: "load",
  heartbeatIntervalMs: 0,
  timeoutMarginMs: 3000,
  jobFiles: { inputs: {}, outputs: [] },
  successNudgesMs: [],
};
const context = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs });
const quietLogger = (): Logger & {
  lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
} => {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push({ level, message, fields });
  const logger = { lines, info: at("info"), warn: at("warn"), error: at("error"), child: () => logger };
  return logger;
};

function event(...bodies: unknown[]): SqsEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i + 1}`,
      body: typeof body === "string" ? body : JSON.stringify(body),
      attributes: { ApproximateReceiveCount: "1" },
    })),
  };
}

describe("processSqsBatch", () => {
  it("given a valid message, when the handler succeeds, then SendTaskSuccess gets its output and the record is done", async () => {
    const tasks = new FakeTasks();
    const handler: StepHandler = (input) => ({ rows: (input.deps.transform as { rows: number }).rows });
    const response = await processSqsBatch(event(stepMessage()), context(), {
      handler,
      tasks,
      logger: quietLogger(),
      config,
    });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(tasks.calls).toEqual([{ kind: "success", token: "token-1", output: { rows: 3 } }]);
  });

  it("given a handler throwing NonRetriableError, when processed, then SendTaskFailure carries Ferry.NonRetriable", async () => {
    const tasks = new FakeTasks();
    const handler = () => {
      throw new NonRetriableError("bad input");
    };
    const response = await processSqsBatch(event(stepMessage()), context(), {
      handler,
      tasks,
      logger: quietLogger(),
      config,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(tasks.calls).toEqual([
      {
        kind: "failure",
        token: "token-1",
        failure: { error: FERRY_ERRORS.nonRetriable, cause: "bad input" },
      },
    ]);
  });

  it("given garbage and a message for another step, when processed, then both are rejected without running the handler", async () => {
    const tasks = new FakeTasks();
    const handler = vi.fn(() => ({}));
    const logger = quietLogger();
    const response = await processSqsBatch(
      event("{not json", stepMessage({ step: "other" }), stepMessage()),
      context(),
      {
        handler,
        tasks,
        logger,
        config,
      },
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m1" }, { itemIdentifier: "m2" }]);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(tasks.calls.map((c) => c.kind)).toEqual(["success"]);
    const rejected = logger.lines.filter((l) => l.level === "error").map((l) => String(l.fields?.reason));
    expect(rejected[0]).toContain("not JSON");
    expect(rejected[1]).toContain('message names step "hello/other" but this function runs "hello/load"');
  });

  it("given SendTaskSuccess throttled, when processed, then only that record is returned to the queue", async () => {
    const tasks = new FakeTasks();
    tasks.errors.success = [awsError("ThrottlingException")];
    const response = await processSqsBatch(
      event(stepMessage({ token: "t1" }), stepMessage({ token: "t2" })),
      context(),
      {
        handler: () => ({ ok: true }),
        tasks,
        logger: quietLogger(),
        config,
      },
    );
    expect(response.batchItemFailures).toHaveLength(1);
    expect(tasks.calls).toHaveLength(1);
  });

  it("given the task already timed out, when answering, then the record is done (nothing left to answer)", async () => {
    const tasks = new FakeTasks();
    tasks.errors.success = [awsError("TaskTimedOut")];
    const response = await processSqsBatch(event(stepMessage()), context(), {
      handler: () => ({}),
      tasks,
      logger: quietLogger(),
      config,
    });
    expect(response.batchItemFailures).toEqual([]);
  });

  it("given Step Functions refuses the output, when answering, then the step fails with Ferry.InvalidOutput", async () => {
    const tasks = new FakeTasks();
    tasks.errors.success = [awsError("InvalidOutput")];
    const response = await processSqsBatch(event(stepMessage()), context(), {
      handler: () => ({}),
      tasks,
      logger: quietLogger(),
      config,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(tasks.calls).toEqual([
      {
        kind: "failure",
        token: "token-1",
        failure: { error: FERRY_ERRORS.invalidOutput, cause: expect.stringContaining("refused") },
      },
    ]);
  });

  describe("with fake timers", () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it("given a handler outliving the Lambda time limit, when processed, then Ferry.Timeout is sent before the limit and the handler's signal aborts", async () => {
      const tasks = new FakeTasks();
      let signal: AbortSignal | undefined;
      const handler: StepHandler = (_input, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      };
      const done = processSqsBatch(event(stepMessage()), context(10_000), {
        handler,
        tasks,
        logger: quietLogger(),
        config,
      });
      await vi.advanceTimersByTimeAsync(7_000);
      expect(await done).toEqual({ batchItemFailures: [] });
      expect(tasks.calls).toEqual([
        {
          kind: "failure",
          token: "token-1",
          failure: { error: FERRY_ERRORS.timeout, cause: expect.stringContaining("time limit") },
        },
      ]);
      expect(signal?.aborted).toBe(true);
    });

    it("given a heartbeat interval, when the handler runs long, then heartbeats are sent until it returns", async () => {
      const tasks = new FakeTasks();
      const handler = () =>
        new Promise<object>((resolve) => setTimeout(() => resolve({ done: true }), 25_000));
      const done = processSqsBatch(event(stepMessage()), context(60_000), {
        handler,
        tasks,
        logger: quietLogger(),
        config: { ...config, heartbeatIntervalMs: 10_000 },
      });
      await vi.advanceTimersByTimeAsync(30_000);
      await done;
      expect(tasks.calls.map((c) => c.kind)).toEqual(["heartbeat", "heartbeat", "success"]);
    });

    it("given a heartbeat answered TaskTimedOut, when the handler runs, then it is aborted and no answer is sent", async () => {
      const tasks = new FakeTasks();
      tasks.errors.heartbeat = [awsError("TaskTimedOut")];
      const handler: StepHandler = (_input, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
        );
      const done = processSqsBatch(event(stepMessage()), context(60_000), {
        handler,
        tasks,
        logger: quietLogger(),
        config: { ...config, heartbeatIntervalMs: 1_000 },
      });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await done).toEqual({ batchItemFailures: [] });
      expect(tasks.calls).toEqual([]);
    });
  });
});
