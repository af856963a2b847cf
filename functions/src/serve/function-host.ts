import { FUNCTION_SECRETS_ENV, formatFunctionStepEnv } from "@ferry/dsl-compiler/contract";
import { resolveLambdaConfig } from "../lambda/config.ts";
import { processSqsBatch } from "../lambda/process-batch.ts";
import type { SqsEvent } from "../lambda/sqs-event.ts";
import type { TaskClient } from "../lambda/task-client.ts";
import type { SecretResolver } from "../secrets/resolver.ts";
import { withAwsCallContext } from "../worker/aws-call-recorder.ts";
import type { BackoffOptions } from "../worker/backoff.ts";
import type { Logger } from "../worker/logger.ts";
import { pollQueue } from "../worker/poll.ts";
import type { Queue, QueueMessage } from "../worker/queue.ts";

/**
 * What the host needs of a step's queue: the worker's `Queue` port, minus
 * dead-lettering, which the queue's redrive policy does, as for Lambda.
 */
export type FunctionQueue = Pick<Queue, "name" | "receive" | "delete">;

/** One function step's queue, served the way its Lambda event source mapping would. */
export interface ServedFunction {
  workflow: string;
  step: string;
  queue: FunctionQueue;
  /** The user's handler export (checked when called, as in Lambda). */
  handler: unknown;
  /** The step's heartbeatSeconds, as the construct passes it in `FERRY_HEARTBEAT_SECONDS`. */
  heartbeatSeconds?: number;
  /** The Lambda function's timeout, which bounds each invocation. */
  timeoutSeconds: number;
  /** Messages per invocation (the mapping's batch size). @default 1 */
  batchSize?: number;
  /** The step's secret env variables (name → reference), as the construct passes them in `FERRY_SECRETS`. */
  secrets?: Record<string, string>;
}

export interface FunctionHostOptions {
  functions: ServedFunction[];
  tasks: TaskClient;
  logger: Logger;
  /** Invocations in flight per queue, like Lambda's pollers. @default 4 */
  concurrency?: number;
  /** Long-poll wait. @default 20 */
  waitSeconds?: number;
  /** Pause after failed receives (jittered). @default up to 30 s */
  backoff?: BackoffOptions;
  /** Reads the steps' secret env variables into `process.env` before each invocation, as the Lambda adapter does. */
  secrets?: SecretResolver;
}

/** Counts of what the host did, for logs and tests. */
export interface FunctionHostStats {
  invocations: number;
  deleted: number;
  returned: number;
  receiveErrors: number;
}

/**
 * A local stand-in for Lambda's SQS event source mapping: polls each
 * function step's queue with the workers' poll loop and calls the exact
 * Lambda adapter (`processSqsBatch`) with an SQS event, then does what the
 * mapping does with `ReportBatchItemFailures`: deletes the records that did
 * not fail and leaves the failed ones to reappear after the queue's
 * visibility timeout (and reach the dead-letter queue after
 * `maxReceiveCount`). An invocation that throws returns its whole batch.
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
        ...formatFunctionStepEnv({
          FERRY_WORKFLOW: fn.workflow,
          FERRY_STEP: fn.step,
          FERRY_HEARTBEAT_SECONDS: fn.heartbeatSeconds,
        }),
        ...(fn.secrets && Object.keys(fn.secrets).length > 0
          ? { [FUNCTION_SECRETS_ENV]: JSON.stringify(fn.secrets) }
          : {}),
      });
      for (let i = 0; i < concurrency; i++) {
        // The host stands in for each step's Lambda: its calls belong to that step's function.
        this.loops.push(
          withAwsCallContext({ workflow: fn.workflow, step: fn.step }, () => this.poll(fn, config)),
        );
      }
    }
    this.options.logger.info(
      { steps: this.options.functions.map((f) => f.step), concurrency },
      "serving function steps",
    );
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
    const batches = pollQueue(fn.queue, {
      signal: this.stopReceiving.signal,
      waitSeconds: this.options.waitSeconds ?? 20,
      acquire: () => fn.batchSize ?? 1,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      logger: this.options.logger.child({ step: fn.step }),
      onReceiveError: () => {
        this.stats.receiveErrors += 1;
      },
    });
    // One invocation at a time per poller, as a Lambda poller waits for its invocation.
    for await (const { messages } of batches) {
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
    messages: QueueMessage[],
  ): Promise<void> {
    const { logger } = this.options;
    this.stats.invocations += 1;
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const event: SqsEvent = {
      Records: messages.map((m) => ({
        messageId: m.id,
        body: m.body,
        attributes: { ApproximateReceiveCount: String(m.receiveCount) },
      })),
    };
    let failed: Set<string>;
    try {
      const response = await processSqsBatch(
        event,
        { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) },
        {
          handler: fn.handler,
          tasks: this.options.tasks,
          logger,
          config,
          ...(this.options.secrets ? { secrets: this.options.secrets } : {}),
        },
      );
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      logger.error(
        { step: fn.step, reason: (error as Error).message },
        "invocation failed; the whole batch returns to the queue",
      );
      this.stats.returned += messages.length;
      return;
    }
    const done = messages.filter((m) => !failed.has(m.id));
    this.stats.returned += messages.length - done.length;
    const deletes = await Promise.allSettled(done.map((m) => fn.queue.delete(m.receipt)));
    for (const result of deletes) {
      if (result.status === "fulfilled") {
        this.stats.deleted += 1;
        continue;
      }
      // As with Lambda, an answered message that could not be deleted comes back; the task token is then gone.
      logger.warn(
        { step: fn.step, reason: (result.reason as Error).message },
        "could not delete an answered message; it will be delivered again",
      );
    }
  }
}
