import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FunctionQueueClient, FunctionQueueMessage } from "@ferry/functions";

/** SQS's limit on one DeleteMessageBatch. */
const DELETE_BATCH_MAX = 10;

/** The function host's queue port over the AWS SDK's SQS client. */
export class SqsFunctionQueues implements FunctionQueueClient {
  constructor(private readonly sqs: SQSClient) {}

  async receive(
    queueUrl: string,
    options: { maxMessages: number; waitSeconds: number; signal: AbortSignal },
  ): Promise<FunctionQueueMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.maxMessages,
        WaitTimeSeconds: options.waitSeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      { abortSignal: options.signal },
    );
    return (out.Messages ?? []).map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? "",
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    }));
  }

  async deleteBatch(
    queueUrl: string,
    receiptHandles: string[],
  ): Promise<Array<{ receiptHandle: string; reason: string }>> {
    const failed: Array<{ receiptHandle: string; reason: string }> = [];
    for (let start = 0; start < receiptHandles.length; start += DELETE_BATCH_MAX) {
      const chunk = receiptHandles.slice(start, start + DELETE_BATCH_MAX);
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((receiptHandle, i) => ({ Id: String(i), ReceiptHandle: receiptHandle })),
        }),
      );
      for (const f of out.Failed ?? []) {
        failed.push({ receiptHandle: chunk[Number(f.Id)] ?? "", reason: `${f.Code}: ${f.Message ?? ""}` });
      }
    }
    return failed;
  }
}
