/** One message received from a queue, invisible to other consumers until deleted or released. */
export interface QueueMessage {
  /** Queue-assigned id, stable across deliveries. */
  id: string;
  /** Handle for delete/changeVisibility; differs per delivery. */
  receipt: string;
  body: string;
  /** 1 on first delivery. */
  receiveCount: number;
}

export interface ReceiveOptions {
  /** 1–10 (SQS's limit). */
  maxMessages: number;
  /** Long-poll wait: resolve with nothing after this long. */
  waitSeconds: number;
  /** Visibility timeout given to the received messages. @default the queue's own (SQS: 30 s unless configured) */
  visibilitySeconds?: number;
  /** Aborting ends the long poll early with no messages. */
  signal?: AbortSignal;
}

/**
 * The worker's view of a task queue. Implementations: `InMemoryQueue`
 * (tests, `ferry run`) and `SqsQueue` (the field).
 */
export interface Queue {
  /** A name for logs and metrics (queue URL or id). */
  readonly name: string;
  receive(options: ReceiveOptions): Promise<QueueMessage[]>;
  delete(receipt: string): Promise<void>;
  /** `0` hands the message back at once. */
  changeVisibility(receipt: string, seconds: number): Promise<void>;
  /** Moves a message that must never run to the dead-letter queue and deletes it here. */
  deadLetter(message: QueueMessage, reason: string): Promise<void>;
}
