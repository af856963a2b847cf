import type { IrQueue, WorkflowIr } from "@ferry/dsl-compiler";
import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { lambdaTimeoutSeconds } from "./lambda-sizing.ts";

export interface StepQueueOptions {
  maxReceiveCount: number;
  workerVisibilityTimeout: Duration;
}

/** One step queue with its dead-letter queue. */
export interface StepQueue {
  readonly ir: IrQueue;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/** SQS caps the visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * A queue with a dead-letter queue for every queue the IR names, both with
 * SQS-managed SSE and a policy denying non-TLS access. A message received
 * `maxReceiveCount` times without being deleted (a rejected message, a
 * worker that kept crashing) moves to the dead-letter queue.
 */
export function createStepQueues(
  scope: Construct,
  ir: WorkflowIr,
  options: StepQueueOptions,
): Map<string, StepQueue> {
  const root = new Construct(scope, "Queues");
  const queues = new Map<string, StepQueue>();
  for (const q of ir.queues) {
    const group = new Construct(root, q.id);
    const deadLetterQueue = new sqs.Queue(group, "DeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(group, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeout(q, ir, options),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
    });
    queues.set(q.id, { ir: q, queue, deadLetterQueue });
  }
  return queues;
}

/**
 * Lambda requires the visibility timeout to be at least the function timeout;
 * AWS recommends six times it, so a throttled invocation can be retried while
 * the batch stays hidden. Workers (agents, Fargate) extend visibility while
 * they run, so their queues only need the time to notice a dead worker.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
function visibilityTimeout(q: IrQueue, ir: WorkflowIr, options: StepQueueOptions): Duration {
  if (q.executor !== "lambda") return options.workerVisibilityTimeout;
  const longest = Math.max(
    ...q.steps.map((name) => lambdaTimeoutSeconds(ir.steps.find((s) => s.name === name)!)),
  );
  return Duration.seconds(Math.min(MAX_VISIBILITY_SECONDS, longest * 6));
}
