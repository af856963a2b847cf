import type { SqsBatchResponse, SqsEvent } from "../lambda/sqs-event.ts";
import { withAwsCallContext } from "../worker/aws-call-recorder.ts";
import type { BackoffOptions } from "../worker/backoff.ts";
import type { Logger } from "../worker/logger.ts";
import { pollQueue } from "../worker/poll.ts";
import type { Queue, QueueMessage } from "../worker/queue.ts";

/**
 * What the host needs of a step's queue: the worker's `Queue` port, minus
 * dead-lettering, which the queue's redrive policy does, as for Lambda.
 * A receive may still bring messages after its signal aborted (an SQS long
 * poll cannot be ended early from the client); the host hands them back.
 */
export type FunctionQueue = Pick<Queue, "name" | "receive" | "delete" | "changeVisibility">;

/**
 * How one invocation ended, as Lambda reports it to the event source
 * mapping: the handler's response, or a function error (thrown, timed
 * out, out of memory, crashed), after which the whole batch returns.
 */
export type InvokeOutcome =
  | { kind: "response"; response: unknown }
  | { kind: "error"; errorType: string; errorMessage: string };

/** Runs a function's handler on one SQS event (see `LambdaFunctionPool` for the deployed bundle). */
export interface BatchInvoker {
  invoke(event: SqsEvent): Promise<InvokeOutcome>;
  /** Ends the function's execution environments. */
  close(): Promise<void>;
}

/** One function step's queue, served the way its Lambda event source mapping would. */
export interface ServedFunction {
  workflow: string;
  step: string;
  queue: FunctionQueue;
  invoker: BatchInvoker;
  /** Records per invocation (the mapping's `BatchSize`). @default 1 */
  batchSize?: number;
  /** How long a short batch waits to fill (the mapping's `MaximumBatchingWindowInSeconds`). @default 0 */
  batchWindowSeconds?: number;
  /** The mapping's `FunctionResponseTypes` include `ReportBatchItemFailures`. @default true */
  reportBatchItemFailures?: boolean;
}

export interface FunctionHostOptions {
  functions: ServedFunction[];
  logger: Logger;
  /** Invocations in flight per queue, like Lambda's pollers. @default 4 */
  concurrency?: number;
  /** Long-poll wait. @default 20 */
  waitSeconds?: number;
  /** Pause after failed receives (jittered). @default up to 30 s */
  backoff?: BackoffOptions;
}

/** Counts of what the host did, for logs and tests. */
export interface FunctionHostStats {
  invocations: number;
  /** Invocations that ended in a function error (the whole batch returned). */
  functionErrors: number;
  deleted: number;
  returned: number;
  /** Messages received as the host stopped, made visible again at once without being run. */
  handedBack: number;
  receiveErrors: number;
}

/**
 * A local stand-in for Lambda's SQS event source mapping: polls each
 * function step's queue with the workers' poll loop, gathers batches as the
 * mapping does (up to `batchSize` records, waiting up to
 * `batchWindowSeconds` for a short batch to fill), invokes the function
 * with the SQS event, then does what the mapping does with
 * `ReportBatchItemFailures`: deletes the records not listed in
 * `batchItemFailures` and leaves the listed ones to reappear after the
 * queue's visibility timeout (and reach the dead-letter queue after
 * `maxReceiveCount`). A function error, or a response naming a record not
 * in the batch, returns the whole batch. Stopping, it receives no more and
 * hands back at once what its open receives still bring, as a disabled
 * mapping leaves the queue to other consumers.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export class FunctionHost {
  readonly stats: FunctionHostStats = {
    invocations: 0,
    functionErrors: 0,
    deleted: 0,
    returned: 0,
    handedBack: 0,
    receiveErrors: 0,
  };
  private readonly stopReceiving = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: FunctionHostOptions) {}

  /** Starts the pollers; returns at once. */
  start(): void {
    if (this.loops.length > 0) return;
    const concurrency = this.options.concurrency ?? 4;
    for (const fn of this.options.functions) {
      for (let i = 0; i < concurrency; i++) {
        // The host stands in for each step's Lambda: its calls belong to that step's function.
        this.loops.push(withAwsCallContext({ workflow: fn.workflow, step: fn.step }, () => this.poll(fn)));
      }
    }
    this.options.logger.info(
      { steps: this.options.functions.map((f) => f.step), concurrency },
      "serving function steps",
    );
  }

  /**
   * Stops receiving (open receives end with their long poll and what they
   * bring is handed back), waits up to `graceMs` for running invocations,
   * then ends every execution environment. Returns whether the invocations all finished.
   */
  async stop(graceMs = 30_000): Promise<boolean> {
    this.stopReceiving.abort();
    await Promise.allSettled(this.loops);
    let finished = true;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const done = Promise.allSettled([...this.inFlight]).then(() => true as const);
      finished = await Promise.race([done, late]);
      clearTimeout(timer);
    }
    await Promise.allSettled(this.options.functions.map((fn) => fn.invoker.close()));
    return finished;
  }

  private async poll(fn: ServedFunction): Promise<void> {
    const batchSize = fn.batchSize ?? 1;
    const batches = pollQueue(fn.queue, {
      signal: this.stopReceiving.signal,
      waitSeconds: this.options.waitSeconds ?? 20,
      acquire: () => Math.min(10, batchSize),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      logger: this.options.logger.child({ step: fn.step }),
      onReceiveError: () => {
        this.stats.receiveErrors += 1;
      },
    });
    // One invocation at a time per poller, as a Lambda poller waits for its invocation.
    for await (const { messages } of batches) {
      const batch = await this.fill(fn, messages);
      if (this.stopReceiving.signal.aborted) {
        await this.handBack(fn, batch);
        continue;
      }
      const invocation = this.invoke(fn, batch);
      this.inFlight.add(invocation);
      try {
        await invocation;
      } finally {
        this.inFlight.delete(invocation);
      }
    }
  }

  /** Keeps receiving until the batch is full or the batching window has passed since its first record. */
  private async fill(fn: ServedFunction, first: QueueMessage[]): Promise<QueueMessage[]> {
    const batchSize = fn.batchSize ?? 1;
    const windowMs = (fn.batchWindowSeconds ?? 0) * 1000;
    const batch = [...first];
    const deadline = Date.now() + windowMs;
    while (batch.length < batchSize && !this.stopReceiving.signal.aborted) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) break;
      try {
        const more = await fn.queue.receive({
          maxMessages: Math.min(10, batchSize - batch.length),
          // SQS long polls in whole seconds; 0 is a short poll.
          waitSeconds: Math.min(20, Math.floor(leftMs / 1000)),
          signal: this.stopReceiving.signal,
        });
        batch.push(...more);
        if (more.length === 0 && leftMs < 1000) break;
      } catch (error) {
        // The records already received are invoked; the next poll backs off if the queue stays unreachable.
        this.options.logger.warn(
          { step: fn.step, reason: (error as Error).message },
          "receive failed while filling a batch; invoking with what arrived",
        );
        this.stats.receiveErrors += 1;
        break;
      }
    }
    return batch;
  }

  /** Makes messages received but not run visible again at once, for the next consumer. */
  private async handBack(fn: ServedFunction, messages: QueueMessage[]): Promise<void> {
    const results = await Promise.allSettled(messages.map((m) => fn.queue.changeVisibility(m.receipt, 0)));
    const handedBack = results.filter((r) => r.status === "fulfilled").length;
    this.stats.handedBack += handedBack;
    this.options.logger.info(
      { step: fn.step, handedBack, failed: messages.length - handedBack },
      "stopping: handed back messages received but not run",
    );
  }

  private async invoke(fn: ServedFunction, messages: QueueMessage[]): Promise<void> {
    const { logger } = this.options;
    this.stats.invocations += 1;
    const event: SqsEvent = {
      Records: messages.map((m) => ({
        messageId: m.id,
        body: m.body,
        attributes: { ApproximateReceiveCount: String(m.receiveCount) },
      })),
    };
    // As Lambda's START line: which deliveries ran (a count above 1 is a redelivery).
    logger.info(
      { step: fn.step, records: messages.map((m) => ({ messageId: m.id, receiveCount: m.receiveCount })) },
      "invoking",
    );
    let outcome: InvokeOutcome;
    try {
      outcome = await fn.invoker.invoke(event);
    } catch (error) {
      outcome = { kind: "error", errorType: "Ferry.ServeError", errorMessage: (error as Error).message };
    }
    const failed = failedRecords(outcome, messages, fn.reportBatchItemFailures ?? true);
    if (failed.kind === "all") {
      this.stats.functionErrors += 1;
      this.stats.returned += messages.length;
      logger.error(
        { step: fn.step, records: messages.length, reason: failed.reason },
        "invocation failed; the whole batch returns to the queue",
      );
      return;
    }
    const done = messages.filter((m) => !failed.ids.has(m.id));
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

/**
 * Which records return to the queue, by Lambda's rules for
 * `ReportBatchItemFailures`: a function error returns them all; an empty or
 * null response, or an empty or null `batchItemFailures`, returns none; a
 * response that is not an object, or lists an empty, null or unknown
 * identifier, fails the whole batch.
 */
export function failedRecords(
  outcome: InvokeOutcome,
  messages: readonly QueueMessage[],
  reportBatchItemFailures: boolean,
): { kind: "all"; reason: string } | { kind: "some"; ids: Set<string> } {
  if (outcome.kind === "error")
    return { kind: "all", reason: `${outcome.errorType}: ${outcome.errorMessage}` };
  if (!reportBatchItemFailures) return { kind: "some", ids: new Set() };
  const response = outcome.response;
  if (response === null || response === undefined) return { kind: "some", ids: new Set() };
  if (typeof response !== "object" || Array.isArray(response))
    return { kind: "all", reason: "the response is not a batch response object" };
  const items = (response as Partial<SqsBatchResponse>).batchItemFailures;
  if (items === undefined || items === null) return { kind: "some", ids: new Set() };
  const known = new Set(messages.map((m) => m.id));
  const ids = new Set<string>();
  if (!Array.isArray(items)) return { kind: "all", reason: "batchItemFailures is not a list" };
  for (const item of items) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "" || !known.has(id)) {
      return {
        kind: "all",
        reason: `batchItemFailures names ${JSON.stringify(id)}, not a record of this batch`,
      };
    }
    ids.add(id);
  }
  return { kind: "some", ids };
}
