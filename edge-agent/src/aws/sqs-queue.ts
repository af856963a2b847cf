import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Queue, QueueMessage, ReceiveOptions } from "@ferry/functions/worker";
import { AgentError, messageOf } from "../errors.ts";

export interface SqsQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /**
   * Where poison messages go.
   * @default the queue's own RedrivePolicy target, looked up once
   */
  deadLetterUrl?: string;
  /**
   * Deletes wait this long to share one DeleteMessageBatch (10 at most); a
   * delete comes after the answer, so waiting delays nothing a step needs.
   * @default 20
   */
  deleteBatchMs?: number;
}

interface PendingDelete {
  receipt: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** SQS's limit of entries per batch call. */
const MAX_BATCH = 10;

/**
 * A {@link Queue} on Amazon SQS (or LocalStack): long-poll receive, delete,
 * visibility changes, and dead-lettering by sending to the DLQ then deleting.
 *
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
 */
export class SqsQueue implements Queue {
  readonly name: string;
  private deadLetterUrl: Promise<string> | undefined;
  private pendingDeletes: PendingDelete[] = [];
  private deleteTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SqsQueueOptions) {
    this.name = options.queueUrl;
    if (options.deadLetterUrl) this.deadLetterUrl = Promise.resolve(options.deadLetterUrl);
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const out = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, options.maxMessages)),
        WaitTimeSeconds: Math.max(0, Math.min(20, options.waitSeconds)),
        VisibilityTimeout: options.visibilitySeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    return (out.Messages ?? []).map((m) => ({
      id: m.MessageId ?? "",
      receipt: m.ReceiptHandle ?? "",
      body: m.Body ?? "",
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    }));
  }

  /** Deletes are sent together: one DeleteMessageBatch per up to 10 receipts within `deleteBatchMs`. */
  delete(receipt: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingDeletes.push({ receipt, resolve, reject });
      if (this.pendingDeletes.length >= MAX_BATCH) this.flushDeletes();
      else this.deleteTimer ??= setTimeout(() => this.flushDeletes(), this.options.deleteBatchMs ?? 20);
    });
  }

  private flushDeletes(): void {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    while (this.pendingDeletes.length > 0) void this.deleteBatch(this.pendingDeletes.splice(0, MAX_BATCH));
  }

  private async deleteBatch(batch: PendingDelete[]): Promise<void> {
    try {
      const out = await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: batch.map((entry, i) => ({ Id: String(i), ReceiptHandle: entry.receipt })),
        }),
      );
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      for (const [i, entry] of batch.entries()) {
        const failure = failed.get(String(i));
        if (!failure) {
          entry.resolve();
          continue;
        }
        entry.reject(
          new AgentError(
            "QUEUE_FAILED",
            `${this.options.queueUrl}: could not delete a message: ${failure.Code ?? "error"} ${failure.Message ?? ""}`.trim(),
          ),
        );
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }

  async changeVisibility(receipt: string, seconds: number): Promise<void> {
    await this.options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receipt,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
      }),
    );
  }

  async deadLetter(message: QueueMessage, reason: string): Promise<void> {
    const url = await this.resolveDeadLetterUrl();
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: message.body === "" ? "(empty)" : message.body,
        MessageAttributes: {
          FerryReason: { DataType: "String", StringValue: reason.slice(0, 1024) },
          FerrySourceQueue: { DataType: "String", StringValue: this.options.queueUrl },
        },
      }),
    );
    await this.delete(message.receipt);
  }

  private resolveDeadLetterUrl(): Promise<string> {
    this.deadLetterUrl ??= this.lookUpDeadLetterUrl().catch((error: unknown) => {
      this.deadLetterUrl = undefined;
      throw error;
    });
    return this.deadLetterUrl;
  }

  private async lookUpDeadLetterUrl(): Promise<string> {
    const { client, queueUrl } = this.options;
    const attributes = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["RedrivePolicy"] }),
    );
    const policy = attributes.Attributes?.RedrivePolicy;
    let arn: string | undefined;
    try {
      arn = policy ? (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn : undefined;
    } catch (error) {
      throw new AgentError("QUEUE_FAILED", `${queueUrl}: unreadable RedrivePolicy: ${messageOf(error)}`);
    }
    if (!arn) {
      throw new AgentError(
        "QUEUE_FAILED",
        `${queueUrl} has no dead-letter queue (no RedrivePolicy) — deploy it with Ferry's stack or set deadLetterUrl`,
      );
    }
    const [, , , , account, name] = arn.split(":");
    const out = await client.send(
      new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
    );
    return out.QueueUrl!;
  }
}
