/**
 * The parts of Lambda's SQS event, batch response and context that Ferry
 * reads. @see https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
export interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

export interface SqsEvent {
  Records: SqsRecord[];
}

/** With `ReportBatchItemFailures`, only the listed records return to the queue. */
export interface SqsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}
