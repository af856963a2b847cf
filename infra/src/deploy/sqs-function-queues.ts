import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { FunctionQueue } from "@ferry/functions";
import type { QueueMessage, ReceiveOptions } from "@ferry/functions/worker";

/**
 * A function step's queue for `ferry functions serve`, over the AWS SDK's SQS
 * client. Receives keep the queue's own visibility timeout, as Lambda's
 * event source mapping does; poison messages reach the dead-letter queue
 * through the queue's redrive policy. A receive runs its long poll to the
 * end even when its signal aborts (see `FunctionQueue`).
 */
export class SqsFunctionQueue implements FunctionQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly name: string,
  ) {}

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    // Never aborted: SQS goes on with the long poll of a closed request and hides the messages
    // it takes from everyone until their visibility timeout. The host hands back what comes late.
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.name,
        MaxNumberOfMessages: options.maxMessages,
        WaitTimeSeconds: options.waitSeconds,
        ...(options.visibilitySeconds !== undefined ? { VisibilityTimeout: options.visibilitySeconds } : {}),
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    return (out.Messages ?? []).map((m) => ({
      id: m.MessageId!,
      receipt: m.ReceiptHandle!,
      body: m.Body ?? "",
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    }));
  }

  async delete(receipt: string): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.name, ReceiptHandle: receipt }));
  }

  async changeVisibility(receipt: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.name,
        ReceiptHandle: receipt,
        VisibilityTimeout: seconds,
      }),
    );
  }
}
