import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import type { Queue } from "@ferry/functions/worker";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RecordingCompletion } from "./in-memory/completions.ts";
import { InMemoryQueue } from "./in-memory/in-memory-queue.ts";
import { FakeRuntime } from "./testing/fake-runtime.ts";
import { manifestOf, shStep, stepMessage } from "./testing/fixtures.ts";
import { createWorker, type Worker, type WorkerOptions } from "./worker.ts";

let worker: Worker | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  const stopping = worker?.stop({ graceMs: 0, handBackTimeoutMs: 0 });
  await vi.runAllTimersAsync();
  await stopping;
  worker = undefined;
  vi.useRealTimers();
});

async function setup(options: Partial<WorkerOptions> = {}, heartbeatSeconds = 30) {
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();
  const runtime = new FakeRuntime();
  worker = createWorker({
    queue,
    completion,
    manifests: [manifestOf("wf", [shStep("work", "unused", { heartbeatSeconds, timeoutSeconds: 600 })])],
    runtimes: { process: runtime },
    visibilitySeconds: 60,
    // The pulse is what these tests count; the first-heartbeat token check has its own tests.
    checkTokens: false,
    ...options,
  });
  await worker.start();
  return { queue: (options.queue as InMemoryQueue | undefined) ?? queue, completion, runtime, worker };
}

function send(queue: InMemoryQueue, token = "tok") {
  queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "work", token })));
}

describe("heartbeats", () => {
  it("given heartbeatSeconds=30, when a step runs 35 s, then it heartbeats every 10 s and stops when it ends", async () => {
    const { queue, completion, runtime } = await setup();
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(35_000);
    expect(completion.heartbeats).toEqual(["tok", "tok", "tok"]);
    runtime.calls[0]!.finish('{"done":true}');
    await vi.waitFor(() => expect(completion.records).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(completion.heartbeats).toHaveLength(3);
    expect(completion.records[0]).toMatchObject({ kind: "success", output: { done: true } });
  });

  it("given Step Functions says the task timed out, then the step is stopped, nothing is reported and the message is deleted", async () => {
    const { queue, completion, runtime } = await setup();
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    completion.cancel("tok");
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(queue.inFlight).toBe(0));
    expect(runtime.calls[0]!.request.signal.aborted).toBe(true);
    expect(completion.records).toEqual([]);
  });

  it("keeps at most one heartbeat in flight, the newest folded into one follow-up", async () => {
    const completion = new RecordingCompletion();
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const release: Array<() => void> = [];
    completion.heartbeat = () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((resolve) =>
        release.push(() => {
          inFlight--;
          resolve();
        }),
      );
    };
    const { queue, runtime } = await setup({ completion });
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(50_000);
    expect(calls).toBe(1);
    release.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    expect(maxInFlight).toBe(1);
    release.shift()!();
    runtime.calls[0]!.finish();
    await vi.waitFor(() => expect(completion.records).toHaveLength(1));
  });

  it("waits for the heartbeat in flight before reporting the answer", async () => {
    const completion = new RecordingCompletion();
    const order: string[] = [];
    let release: (() => void) | undefined;
    completion.heartbeat = () => {
      order.push("heartbeat-sent");
      return new Promise<void>((resolve) => {
        release = () => {
          order.push("heartbeat-done");
          resolve();
        };
      });
    };
    const success = completion.success.bind(completion);
    completion.success = (token, output) => {
      order.push("success");
      return success(token, output);
    };
    const { queue, runtime } = await setup({ completion });
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(10_000);
    runtime.calls[0]!.finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toEqual(["heartbeat-sent"]);
    release!();
    await vi.waitFor(() => expect(order).toEqual(["heartbeat-sent", "heartbeat-done", "success"]));
  });
});

describe("timeouts", () => {
  it("given timeoutSeconds of a year (past Node's 24.8-day timer limit), then the step is not stopped early", async () => {
    const queue = new InMemoryQueue();
    const completion = new RecordingCompletion();
    const runtime = new FakeRuntime();
    worker = createWorker({
      queue,
      completion,
      manifests: [
        manifestOf("wf", [
          shStep("work", "unused", { timeoutSeconds: 31_536_000, heartbeatSeconds: 31_536_000 }),
        ]),
      ],
      runtimes: { process: runtime },
      visibilitySeconds: 43_200,
      receiveWaitSeconds: 86_400,
    });
    await worker.start();
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(30 * 24 * 3600 * 1000);
    expect(runtime.calls[0]!.request.signal.aborted).toBe(false);
    runtime.calls[0]!.finish();
    await vi.waitFor(() => expect(completion.records).toHaveLength(1));
    expect(completion.records[0]).toMatchObject({ kind: "success" });
  });
});

describe("visibility", () => {
  it("extends the message's visibility every third of the timeout while the step runs", async () => {
    const { queue, runtime } = await setup();
    const extend = vi.spyOn(queue, "changeVisibility");
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(200_000);
    expect(extend.mock.calls.length).toBe(10);
    expect(extend.mock.calls[0]![1]).toBe(60);
    expect(queue.depth).toBe(0);
    runtime.calls[0]!.finish();
    await vi.waitFor(() => expect(queue.inFlight).toBe(0));
  });
});

describe("reporting", () => {
  it("retries a failed report with backoff and deletes the message only once it was accepted", async () => {
    const completion = new RecordingCompletion();
    let failures = 2;
    const success = completion.success.bind(completion);
    completion.success = (token, output) => {
      if (failures-- > 0) return Promise.reject(new Error("getaddrinfo ENOTFOUND states.example"));
      return success(token, output);
    };
    const { queue, runtime } = await setup({ completion });
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    runtime.calls[0]!.finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(queue.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(completion.records).toHaveLength(1);
    expect(queue.inFlight).toBe(0);
  });
});

describe("network loss", () => {
  it("given receive fails for a while, then the worker backs off, never crashes, and serves once the endpoint returns", async () => {
    const inner = new InMemoryQueue();
    let down = true;
    let attempts = 0;
    const flaky: Queue = {
      name: "flaky",
      receive: (options) => {
        attempts++;
        return down
          ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:4566"))
          : inner.receive(options);
      },
      delete: (r) => inner.delete(r),
      changeVisibility: (r, s) => inner.changeVisibility(r, s),
      deadLetter: (m, reason) => inner.deadLetter(m, reason),
    };
    const { completion, runtime, worker } = await setup({
      queue: flaky,
      backoff: { baseMs: 100, maxMs: 2000 },
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(worker.state).toBe("RUNNING");
    // Capped backoff: at least one try per 2 s, far fewer than a busy loop.
    expect(attempts).toBeGreaterThanOrEqual(30);
    expect(attempts).toBeLessThan(1000);
    down = false;
    send(inner);
    await vi.advanceTimersByTimeAsync(2_000);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    runtime.calls[0]!.finish();
    await vi.waitFor(() => expect(completion.records).toHaveLength(1));
  });
});

describe("lifecycle and shutdown", () => {
  it("moves STARTING → RUNNING → DRAINING → STOPPED and lets a step finish within the grace period", async () => {
    const { queue, completion, runtime, worker } = await setup({ shutdownGraceMs: 30_000 });
    const states: string[] = [worker.state];
    worker.lifecycle.onChange((s) => states.push(s));
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    const stopped = worker.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    send(queue, "late");
    runtime.calls[0]!.finish('{"ok":1}');
    await stopped;
    expect(states).toEqual(["RUNNING", "DRAINING", "STOPPED"]);
    expect(completion.records).toEqual([{ kind: "success", token: "tok", output: { ok: 1 } }]);
    expect(runtime.calls).toHaveLength(1);
    expect(queue.depth).toBe(1);
  });

  it("hands a step still running after the grace period back as Ferry.AgentShutdown", async () => {
    const { queue, completion, runtime, worker } = await setup({ shutdownGraceMs: 10_000 });
    send(queue);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(1));
    const stopped = worker.stop();
    await vi.advanceTimersByTimeAsync(10_001);
    await stopped;
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.agentShutdown });
    expect(queue.inFlight).toBe(0);
    expect(worker.state).toBe("STOPPED");
  });

  it("bounds running steps by the concurrency", async () => {
    const { queue, runtime } = await setup({ concurrency: 2 });
    for (let i = 0; i < 5; i++) send(queue, `t${i}`);
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(2));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runtime.calls).toHaveLength(2);
    expect(queue.depth).toBe(3);
    runtime.calls[0]!.finish();
    await vi.waitFor(() => expect(runtime.calls).toHaveLength(3));
  });
});
