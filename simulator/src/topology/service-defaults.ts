import type { LatencySpec } from "./latency.ts";

/**
 * Cloud service models used when a topology does not override them. Figures
 * are for us-east-1 and were current when written; override them in the
 * topology for other regions or newer measurements.
 */

/**
 * Latency of one Step Functions state transition (Standard workflows).
 * @default median 170 ms
 * @see SeBS-Flow: Benchmarking Serverless Cloud Function Workflows, Schmid et al., EuroSys 2025 (arXiv:2410.03480), AWS us-east-1 measurements.
 */
export const DEFAULT_STATE_TRANSITION: LatencySpec = { medianMs: 170 };

/**
 * Time from `SendMessage` until a long-polling consumer (edge agent, Lambda
 * event source mapping, Fargate worker) holds the message.
 * @default uniform 10–100 ms
 * @see https://aws.amazon.com/sqs/faqs/ — "typical latencies for SendMessage, ReceiveMessage, and DeleteMessage API requests are in the tens or low hundreds of milliseconds".
 */
export const DEFAULT_SQS_RECEIVE: LatencySpec = { minMs: 10, maxMs: 100 };

/**
 * Node.js Lambda cold start (new execution environment, small bundle).
 * @default uniform 120–150 ms
 * @see https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html (Init phase); published Node.js 20 cold-start measurements cluster at 120–150 ms for small functions.
 */
export const DEFAULT_LAMBDA_COLD_START: LatencySpec = { minMs: 120, maxMs: 150 };

/**
 * Concurrent executions per account and region.
 * @default 1000
 * @see https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
 */
export const DEFAULT_LAMBDA_CONCURRENCY = 1000;

/**
 * How long an idle Lambda execution environment stays warm. AWS does not
 * document it; 300 s is a conservative reading of public measurements.
 * @default 300
 */
export const DEFAULT_LAMBDA_KEEP_WARM_SECONDS = 300;

/**
 * Longest a Lambda invocation may run.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * Time from launching a Fargate task until its container runs (ENI
 * attachment, image pull, start).
 * @default uniform 30–70 s
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html ; public Fargate scaling measurements put launch-to-running between 30 s and 70 s for ordinary images.
 */
export const DEFAULT_FARGATE_START: LatencySpec = { minMs: 30_000, maxMs: 70_000 };

/** Most Fargate workers a site's pool scales out to. @default 100 */
export const DEFAULT_FARGATE_MAX_TASKS = 100;

/** Idle time after which a Fargate worker is scaled in. @default 300 */
export const DEFAULT_FARGATE_SCALE_IN_SECONDS = 300;

/** Prices in USD, us-east-1, on-demand list prices. */
export interface Prices {
  /**
   * @default 0.000025 ($0.025 per 1,000 transitions)
   * @see https://aws.amazon.com/step-functions/pricing/
   */
  stepFunctionsPerTransition: number;
  /**
   * @default 0.0000004 ($0.40 per million requests, standard queue)
   * @see https://aws.amazon.com/sqs/pricing/
   */
  sqsPerRequest: number;
  /**
   * @default 0.0000166667 (x86)
   * @see https://aws.amazon.com/lambda/pricing/
   */
  lambdaPerGbSecond: number;
  /**
   * @default 0.0000002 ($0.20 per million requests)
   * @see https://aws.amazon.com/lambda/pricing/
   */
  lambdaPerRequest: number;
  /**
   * @default 0.04048 (Linux/x86)
   * @see https://aws.amazon.com/fargate/pricing/
   */
  fargatePerVcpuHour: number;
  /**
   * @default 0.004445 (Linux/x86)
   * @see https://aws.amazon.com/fargate/pricing/
   */
  fargatePerGbHour: number;
  /**
   * Data leaving AWS for the internet, the default price of a link out of an `aws` site; transfer into AWS is free.
   * @default 0.09 (first 10 TB a month)
   * @see https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer
   */
  transferOutPerGb: number;
}

export const DEFAULT_PRICES: Prices = {
  stepFunctionsPerTransition: 0.000025,
  sqsPerRequest: 0.0000004,
  lambdaPerGbSecond: 0.0000166667,
  lambdaPerRequest: 0.0000002,
  fargatePerVcpuHour: 0.04048,
  fargatePerGbHour: 0.004445,
  transferOutPerGb: 0.09,
};

/**
 * Fargate bills per second with a one-minute minimum.
 * @see https://aws.amazon.com/fargate/pricing/
 */
export const FARGATE_MIN_BILLED_SECONDS = 60;

/** AWS bills data and memory in binary gigabytes. */
export const BYTES_PER_GB = 1024 ** 3;

/** The runtime a topology predicts: `ferry run` on one machine, a LocalStack deployment, or AWS. */
export type RuntimeName = "embedded" | "localstack" | "aws";
export const RUNTIME_NAMES: readonly RuntimeName[] = ["embedded", "localstack", "aws"];

/**
 * The overheads a runtime adds around each step's own work. A topology
 * names its runtime (`runtime:`, @default aws); its own values win, and
 * `--calibrate` replaces the defaults with terms fitted from a record.
 */
export interface RuntimeModel {
  /** Step Functions state transition (Task state entered → message sent); none in-process. */
  stateTransition: LatencySpec;
  /** SQS: sent → held by a long-polling consumer; none in-process. */
  sqsReceive: LatencySpec;
  /**
   * Dependency finished → dependent handed to an edge slot, when it stands
   * for transition + receive as one figure (the embedded runtime has no queue).
   */
  edgeDispatch?: LatencySpec;
  /** Process start on an edge slot: serialized per site (`serialMs`) plus per step (`ms`). */
  processStart: { serialMs: number; ms: number };
  /** Where the figures come from. */
  source: string;
}

export const RUNTIME_MODELS: Readonly<Record<RuntimeName, RuntimeModel>> = {
  aws: {
    stateTransition: DEFAULT_STATE_TRANSITION,
    sqsReceive: DEFAULT_SQS_RECEIVE,
    processStart: { serialMs: 0, ms: 0 },
    source:
      "published AWS figures (see DEFAULT_STATE_TRANSITION, DEFAULT_SQS_RECEIVE); not validated against an AWS account",
  },
  /**
   * Fitted with `--calibrate <execution-arn>` from one-agent executions of
   * 36 `sleep 0.2` steps (6 layers of 6, 2 slots) on LocalStack 4.14 on a
   * shared 2-core machine, load average 4–6 (`bench/simulate-heldout-localstack.ts`):
   * a dependency's end on its agent → the next TaskScheduled, mean 1.45 s
   * (median 1.14 s, p95 2.76 s; simulated as the mean, see
   * `fitOrchestration`), and TaskScheduled → the agent's start, median
   * 310 ms, p95 1.08 s. LocalStack's speed follows the machine's load:
   * calibrate on yours.
   */
  localstack: {
    stateTransition: { ms: 1450 },
    sqsReceive: { medianMs: 310, p95Ms: 1080 },
    processStart: { serialMs: 0, ms: 0 },
    source:
      "LocalStack 4.14 on a loaded 2-core machine (bench/simulate-heldout-localstack.ts); calibrate for yours",
  },
  /**
   * Fitted from `ferry run` records of 100 sleep steps at 4 and 16 slots on a
   * 2-core machine (`bench/simulate-heldout.ts`): ~20 ms median dependency-to-start
   * gap, ~12 ms of each step's bookkeeping on the one event loop. Calibrate on
   * your machine with `--calibrate`.
   */
  embedded: {
    stateTransition: { ms: 0 },
    sqsReceive: { ms: 0 },
    edgeDispatch: { medianMs: 20, p95Ms: 60 },
    processStart: { serialMs: 12, ms: 0 },
    source: "ferry run on a 2-core machine (bench/simulate-heldout.ts); calibrate for yours",
  },
};
