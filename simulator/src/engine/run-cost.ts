import { BYTES_PER_GB } from "../topology/service-defaults.ts";
import type { CostBreakdown } from "./run-result.ts";
import type { SimModel } from "./sim-model.ts";

/** What a run used, in the units AWS bills. */
export interface RunUsage {
  makespanSeconds: number;
  /** Task attempts of every kind: one state transition each. */
  attempts: number;
  /** Attempts that went through SQS (all but HTTP tasks). */
  queuedAttempts: number;
  lambdaGbSeconds: number;
  lambdaInvocations: number;
  /** Per model site. */
  fargateWorkerSeconds: readonly number[];
  /** Per model link. */
  linkBytes: ArrayLike<number>;
}

/** Transitions besides the task states: the execution's start and its end. */
const EXTRA_TRANSITIONS = 2;
/** SendMessage, ReceiveMessage and DeleteMessage per task message. */
const SQS_REQUESTS_PER_ATTEMPT = 3;

/**
 * Prices one run. Idle long polls of agents, CloudWatch, S3 requests and the
 * Parallel/Map bookkeeping states are left out: they are small next to the
 * items here and depend on deployment choices the model does not see.
 */
export function runCost(model: SimModel, usage: RunUsage): CostBreakdown {
  const p = model.prices;
  const stepFunctions = model.billsOrchestration
    ? (usage.attempts + EXTRA_TRANSITIONS) * p.stepFunctionsPerTransition
    : 0;
  const sqs = model.billsOrchestration
    ? usage.queuedAttempts * SQS_REQUESTS_PER_ATTEMPT * p.sqsPerRequest
    : 0;
  const lambda = usage.lambdaGbSeconds * p.lambdaPerGbSecond + usage.lambdaInvocations * p.lambdaPerRequest;
  let fargate = 0;
  model.sites.forEach((site, s) => {
    const seconds = usage.fargateWorkerSeconds[s] ?? 0;
    if (!site.fargate || seconds === 0) return;
    const perHour =
      site.fargate.workerCpu * p.fargatePerVcpuHour +
      (site.fargate.workerMemoryMiB / 1024) * p.fargatePerGbHour;
    fargate += (seconds / 3600) * perHour;
  });
  let transfer = 0;
  model.links.forEach((link, l) => {
    transfer += ((usage.linkBytes[l] ?? 0) / BYTES_PER_GB) * link.pricePerGB;
  });
  const edge = model.devices.reduce((sum, d) => sum + d.costPerHour, 0) * (usage.makespanSeconds / 3600);
  return {
    stepFunctions,
    sqs,
    lambda,
    fargate,
    transfer,
    edge,
    total: stepFunctions + sqs + lambda + fargate + transfer + edge,
  };
}
