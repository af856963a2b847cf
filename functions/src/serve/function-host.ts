import { withAwsCallContext } from "../aws-call-recorder.ts";
import { resolveLambdaConfig } from "../lambda/config.ts";
import type { Logger } from "../lambda/logger.ts";
import { processSqsBatch } from "../lambda/process-batch.ts";
import type { SqsEvent } from "../lambda/sqs-event.ts";
import type { TaskClient } from "../lambda/task-client.ts";

/** One received SQS message, as the host needs it. */
export interface FunctionQueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  receiveCount: number;
}

/**
 * The SQS calls the host makes, behind a port so this package stays free of
 * the SQS SDK; `ferry functions serve` passes an SQS-backed implementation.
 */
export interface FunctionQueueClient {
  /** Long-polls; resolves with no messages after `waitSeconds`, or when `signal` aborts (rejecting is fine then). */
  receive(
    queueUrl: string,
    options: { maxMessages: number; waitSeconds: number; signal: AbortSignal },
  ): Promise<FunctionQueueMessage[]>;
  /** Deletes the messages; returns the receipt handles that could not be deleted, with the reason. */
  deleteBatch(
    queueUrl: string,
    receiptHandles: string[],
  ): Promise<Array<{ receiptHandle: string; reason: string }>>;
}

/** One function step's queue, served the way its Lambda event source mapping would. */
export interface ServedFunction {
  workflow: string;
  step: string;
  queueUrl: string;
  /** The user's handler export (checked when called, as in Lambda). */
  handler: unknown;
  /** The step's heartbeatSeconds, as the construct passes it in `FERRY_HEARTBEAT_SECONDS`. */
  heartbeatSeconds?: number;
  /** The Lambda function's timeout, which bounds each invocation. */
  timeoutSeconds: number;
  /** Messages per invocation (the mapping's batch size). @default 1 */
  batchSize?: number;
}

export interface FunctionHostOptions {
  functions: ServedFunction[];
  queues: FunctionQueueClient;
  tasks: TaskClient;
  logger: Logger;
  /** Invocations in flight per queue, like Lambda's pollers. @default 4 */
  concurrency?: number;
  /** Long-poll wait. @default 20 */
  waitSeconds?: number;
  /** Longest pause after failed receives. @default 30_000 */
  maxBackoffMs?: number;
}

/** Counts of what the host did, for logs and tests. */
export interface FunctionHostStats {
  invocations: number;
  deleted: number;
  returned: number;
  receiveErrors: number;
}

/**
 * A local stand-in for Lambda's SQS event source mapping: long-polls each
 * function step's queue and calls the exact Lambda adapter
 * (`processSqsBatch`) with an SQS event, then does what the mapping does
 * with `ReportBatchItemFailures`: deletes the records that did not fail and
 * leaves the failed ones to reappear after the queue's visibility timeout
 * (and reach the dead-letter queue after `maxReceiveCount`). An invocation
 * that throws returns its whole batch.
 */
export class FunctionHost {
  readonly stats: FunctionHostStats = { invocations: 0, deleted: 0, returned: 0, receiveErrors: 0 };
  private readonly stopReceiving = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: FunctionHostOptions) {}

  /** Starts the pollers; returns at once. */
  start(): void {
    if (this.loops.length > 0) return;
    const concurrency = this.options.concurrency ?? 4;
    for (const fn of this.options.functions) {
      const config = resolveLambdaConfig({
        FERRY_WORKFLOW: fn.workflow,
        FERRY_STEP: fn.step,
        ...(fn.heartbeatSeconds !== undefined
          ? { FERRY_HEARTBEAT_SECONDS: String(fn.heartbeatSeconds) }
          : {}),
      });
      for (let i = 0; i < concurrency; i++) {
        // The host stands in for each step's Lambda: its calls belong to that step's function.
        this.loops.push(
          withAwsCallContext({ workflow: fn.workflow, step: fn.step }, () => this.poll(fn, config)),
        );
      }
    }
    this.options.logger.info("serving function steps", {
      steps: this.options.functions.map((f) => f.step),
      concurrency,
    });
  }

  /** Stops receiving and waits up to `graceMs` for running invocations. Returns whether they all finished. */
  async stop(graceMs = 30_000): Promise<boolean> {
    this.stopReceiving.abort();
    await Promise.allSettled(this.loops);
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const done = Promise.allSettled([...this.inFlight]).then(() => true as const);
    const finished = await Promise.race([done, late]);
    clearTimeout(timer);
    return finished;
  }

  private async poll(fn: ServedFunction, config: ReturnType<typeof resolveLambdaConfig>): Promise<void> {
    const signal = this.stopReceiving.signal;
    const { queues, logger } = this.options;
    let failures = 0;
    while (!signal.aborted) {
      let messages: FunctionQueueMessage[];
      try {
        messages = await queues.receive(fn.queueUrl, {
          maxMessages: fn.batchSize ?? 1,
          waitSeconds: this.options.waitSeconds ?? 20,
          signal,
        });
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        this.stats.receiveErrors += 1;
        const delayMs = Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(failures++, 10));
        logger.warn("receive failed; backing off", {
          step: fn.step,
          delayMs,
          reason: (error as Error).message,
        });
        await sleep(delayMs, signal);
        continue;
      }
      if (messages.length === 0) continue;
      const invocation = this.invoke(fn, config, messages);
      this.inFlight.add(invocation);
      try {
        await invocation;
      } finally {
        this.inFlight.delete(invocation);
      }
    }
  }

  private async invoke(
    fn: ServedFunction,
    config: ReturnType<typeof resolveLambdaConfig>,
    messages: FunctionQueueMessage[],
  ): Promise<void> {
    const { queues, logger } = this.options;
    this.stats.invocations += 1;
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const event: SqsEvent = {
      Records: messages.map((m) => ({
        messageId: m.messageId,
        body: m.body,
        attributes: { ApproximateReceiveCount: String(m.receiveCount) },
      })),
    };
    let failed: Set<string>;
    try {
      const response = await processSqsBatch(
        event,
        { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) },
        { handler: fn.handler, tasks: this.options.tasks, logger, config },
      );
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      logger.error("invocation failed; the whole batch returns to the queue", {
        step: fn.step,
        reason: (error as Error).message,
      });
      this.stats.returned += messages.length;
      return;
    }
    const done = messages.filter((m) => !failed.has(m.messageId));
    this.stats.returned += messages.length - done.length;
    if (done.length === 0) return;
    try {
      const notDeleted = await queues.deleteBatch(
        fn.queueUrl,
        done.map((m) => m.receiptHandle),
      );
      this.stats.deleted += done.length - notDeleted.length;
      for (const f of notDeleted) {
        logger.warn("could not delete an answered message; it will be delivered again", {
          step: fn.step,
          reason: f.reason,
        });
      }
    } catch (error) {
      // As with Lambda, an answered message that could not be deleted comes back; the task token is then gone.
      logger.warn("could not delete answered messages; they will be delivered again", {
        step: fn.step,
        reason: (error as Error).message,
      });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
