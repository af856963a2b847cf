import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StepMessage } from "@ferry/dsl-compiler";
import {
  type Completion,
  createWorker,
  InMemoryQueue,
  type JobFileStore,
  ProcessRuntime,
  RecordingCompletion,
  type RuntimeSet,
  type Worker,
  type WorkerOptions,
} from "@ferry/edge-agent";
import { manifestOf, stepMessage, type TestStep } from "../../edge-agent/src/testing/fixtures.ts";

/** A worker on an in-memory queue running real processes (or the given runtimes) against a real job-file store. */
export async function startWorker(
  workflow: string,
  steps: TestStep[],
  options: {
    store?: JobFileStore;
    completion?: Completion;
    runtimes?: RuntimeSet;
    extra?: Partial<WorkerOptions>;
  } = {},
): Promise<{ worker: Worker; queue: InMemoryQueue; completion: RecordingCompletion; workDir: string }> {
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();
  const workDir = await mkdtemp(join(tmpdir(), "ferry-sec-work-"));
  const worker = createWorker({
    queue,
    completion: options.completion ?? completion,
    manifests: [manifestOf(workflow, steps)],
    runtimes: options.runtimes ?? { process: new ProcessRuntime() },
    ...(options.store ? { jobFiles: options.store } : {}),
    workDir,
    concurrency: 1,
    ...options.extra,
  });
  await worker.start();
  return { worker, queue, completion, workDir };
}

/** Sends a message and waits until the completion recorded an answer for its token. */
export async function runMessage(
  queue: InMemoryQueue,
  completion: RecordingCompletion,
  message: StepMessage,
): Promise<ReturnType<RecordingCompletion["forToken"]>[number]> {
  queue.send(JSON.stringify(message));
  for (let i = 0; i < 600; i++) {
    const records = completion.forToken(message.token);
    if (records.length > 0) return records[0]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no answer for step ${message.step} within 30 s`);
}

export { stepMessage };
