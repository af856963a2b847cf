import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FunctionQueue } from "@ferry/functions";
import type { QueueMessage, ReceiveOptions } from "@ferry/functions/worker";

/**
 * A function step's queue for `ferry functions serve`, over the AWS SDK's SQS
 * client. Receives keep the queue's own visibility timeout, as Lambda's
 * event source mapping does; poison messages reach the dead-letter queue
 * through the queue's redrive policy.
 */
export class SqsFunctionQueue implements FunctionQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly name: string,
  ) {}

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.name,
        MaxNumberOfMessages: options.maxMessages,
        WaitTimeSeconds: options.waitSeconds,
        ...(options.visibilitySeconds !== undefined ? { VisibilityTimeout: options.visibilitySeconds } : {}),
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      options.signal ? { abortSignal: options.signal } : {},
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
}
