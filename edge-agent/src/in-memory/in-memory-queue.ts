import type { Queue, QueueMessage, ReceiveOptions } from "@ferry/functions/worker";

export interface DeadLetter {
  body: string;
  reason: string;
  receiveCount: number;
}

export interface InMemoryQueueOptions {
  /** @default "memory" */
  name?: string;
  /** Called whenever a message is dead-lettered. */
  onDeadLetter?: (letter: DeadLetter) => void;
}

/** What SQS gives a queue created without a VisibilityTimeout. */
const SQS_DEFAULT_VISIBILITY_SECONDS = 30;

interface Stored {
  id: string;
  body: string;
  receiveCount: number;
}

interface Waiter {
  max: number;
  visibilitySeconds: number;
  resolve(messages: QueueMessage[]): void;
}

/**
 * A queue in process memory with SQS semantics that matter to a worker:
 * long-poll receive that resolves the moment a message arrives, visibility
 * timeouts that hand unfinished messages back, delete by receipt, and a
 * dead-letter list. Used by tests and by `ferry run`.
 */
export class InMemoryQueue implements Queue {
  readonly name: string;
  /** Messages moved to the dead-letter queue, oldest first. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly ready: Stored[] = [];
  private readonly inflight = new Map<string, { stored: Stored; timer?: NodeJS.Timeout }>();
  private readonly waiters: Waiter[] = [];
  private readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  private nextId = 1;

  constructor(options: InMemoryQueueOptions = {}) {
    this.name = options.name ?? "memory";
    this.onDeadLetter = options.onDeadLetter;
  }

  /** Enqueues a message body; returns its id. */
  send(body: string): string {
    const stored: Stored = { id: `m-${this.nextId++}`, body, receiveCount: 0 };
    this.ready.push(stored);
    this.wake();
    return stored.id;
  }

  /** Messages waiting to be received. */
  get depth(): number {
    return this.ready.length;
  }

  /** Messages received and neither deleted nor handed back. */
  get inFlight(): number {
    return this.inflight.size;
  }

  receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const max = Math.max(1, Math.min(10, options.maxMessages));
    const visibilitySeconds = options.visibilitySeconds ?? SQS_DEFAULT_VISIBILITY_SECONDS;
    if (this.ready.length > 0 || options.waitSeconds <= 0 || options.signal?.aborted) {
      return Promise.resolve(this.take(max, visibilitySeconds));
    }
    return new Promise((resolve) => {
      const done = (messages: QueueMessage[]) => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(messages);
      };
      const waiter: Waiter = { max, visibilitySeconds, resolve: done };
      const leave = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        done([]);
      };
      const onAbort = () => leave();
      const timer = setTimeout(leave, options.waitSeconds * 1000);
      timer.unref?.();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  async delete(receipt: string): Promise<void> {
    const entry = this.inflight.get(receipt);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.inflight.delete(receipt);
  }

  async changeVisibility(receipt: string, seconds: number): Promise<void> {
    const entry = this.inflight.get(receipt);
    if (!entry) return;
    clearTimeout(entry.timer);
    if (seconds <= 0) {
      this.inflight.delete(receipt);
      this.ready.unshift(entry.stored);
      this.wake();
      return;
    }
    entry.timer = this.expireAfter(receipt, seconds);
  }

  async deadLetter(message: QueueMessage, reason: string): Promise<void> {
    await this.delete(message.receipt);
    const letter: DeadLetter = { body: message.body, reason, receiveCount: message.receiveCount };
    this.deadLetters.push(letter);
    this.onDeadLetter?.(letter);
  }

  private take(max: number, visibilitySeconds: number): QueueMessage[] {
    const messages: QueueMessage[] = [];
    while (messages.length < max && this.ready.length > 0) {
      const stored = this.ready.shift()!;
      stored.receiveCount += 1;
      const receipt = `${stored.id}#${stored.receiveCount}`;
      const timer = Number.isFinite(visibilitySeconds)
        ? this.expireAfter(receipt, visibilitySeconds)
        : undefined;
      this.inflight.set(receipt, { stored, timer });
      messages.push({ id: stored.id, receipt, body: stored.body, receiveCount: stored.receiveCount });
    }
    return messages;
  }

  private expireAfter(receipt: string, seconds: number): NodeJS.Timeout {
    const timer = setTimeout(() => void this.changeVisibility(receipt, 0), seconds * 1000);
    timer.unref?.();
    return timer;
  }

  private wake(): void {
    while (this.ready.length > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      waiter.resolve(this.take(waiter.max, waiter.visibilitySeconds));
    }
  }
}
