import { SITE_NAME_PATTERN } from "@ferry/dsl-compiler";
import { z } from "zod";
import { LatencySchema } from "./latency.ts";

/**
 * The topology file: the hardware a workflow is simulated on. Site names are
 * the spec's site names; each describes what stands behind that site.
 * Like the spec, this zod schema is the single source of truth and unknown
 * fields are errors.
 */

const siteName = z
  .string()
  .regex(
    SITE_NAME_PATTERN,
    "must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$ (letters, digits, '_' and '-', ≤ 40)",
  );

/**
 * When a device fails. Give `mtbfSeconds` (mean time between failures), or
 * `availability` (the fraction of time it is up), and optionally
 * `mttrSeconds` (mean time to repair; @default 600). Both times are
 * exponentially distributed.
 */
export const FailureSchema = z
  .strictObject({
    mtbfSeconds: z.number().positive().optional(),
    availability: z.number().gt(0).max(1).optional(),
    mttrSeconds: z.number().positive().optional(),
  })
  .superRefine((value, ctx) => {
    if ((value.mtbfSeconds === undefined) === (value.availability === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "give exactly one of mtbfSeconds or availability",
        input: value,
      });
    }
  });

export const DeviceSchema = z.strictObject({
  /** Group name; devices are named `<name>-1`, `<name>-2`, … @default "device" */
  name: siteName.optional(),
  /** @default 1 */
  count: z.number().int().min(1).max(10_000).default(1),
  /** Steps a device runs at once (the agent's concurrency). @default 1 */
  slots: z.number().int().min(1).max(1024).default(1),
  /** Speed relative to the machine that `hints.durationSeconds` were measured on. @default 1 */
  speed: z.number().positive().max(1000).default(1),
  /** Memory steps may use; a step's `resources.memoryMiB` must fit. @default unlimited */
  memoryMiB: z.number().int().min(16).optional(),
  /** @default 0 */
  gpu: z.number().int().min(0).max(64).default(0),
  failure: FailureSchema.optional(),
  /** Running cost of one device (power, amortisation) in USD per hour. @default 0 */
  costPerHour: z.number().min(0).default(0),
});

export const EdgeTopologySiteSchema = z.strictObject({
  type: z.literal("edge"),
  description: z.string().optional(),
  devices: z.array(DeviceSchema).min(1, "an edge site needs at least one device"),
  /** Replaces the Step Functions + SQS dispatch latency for this site, e.g. to model `ferry run` on one machine. */
  dispatchLatency: LatencySchema.optional(),
  /**
   * Time each step spends on its slot around its own work: `serialMs` per
   * start, one start at a time on the site (spawning processes from one event
   * loop, as `ferry run` does), plus `ms` per step (reading output,
   * answering). `--calibrate` fits both from a run record.
   * @default none
   */
  startOverhead: z
    .strictObject({ ms: z.number().min(0).default(0), serialMs: z.number().min(0).default(0) })
    .optional(),
});

export const LambdaModelSchema = z.strictObject({
  coldStart: LatencySchema.optional(),
  concurrency: z.number().int().min(1).optional(),
  keepWarmSeconds: z.number().min(0).optional(),
  /** Speed relative to the reference machine. @default 1 */
  speed: z.number().positive().optional(),
});

export const FargateModelSchema = z.strictObject({
  start: LatencySchema.optional(),
  maxTasks: z.number().int().min(1).optional(),
  scaleInSeconds: z.number().min(0).optional(),
  /** @default 1 */
  speed: z.number().positive().optional(),
});

export const AwsTopologySiteSchema = z.strictObject({
  type: z.literal("aws"),
  description: z.string().optional(),
  lambda: LambdaModelSchema.optional(),
  fargate: FargateModelSchema.optional(),
  dispatchLatency: LatencySchema.optional(),
});

export const TopologySiteSchema = z.discriminatedUnion("type", [
  EdgeTopologySiteSchema,
  AwsTopologySiteSchema,
]);

export const LinkSchema = z.strictObject({
  from: siteName,
  to: siteName,
  /** 0 models a link that is down. */
  bandwidthMbps: z.number().min(0),
  /** @default 0 */
  latencyMs: z.number().min(0).default(0),
  /** Also carries traffic from `to` to `from`, with its own full bandwidth (full duplex). @default true */
  bidirectional: z.boolean().default(true),
  /** USD per GB moved. @default the AWS data-transfer-out price when `from` is an aws site, else 0 */
  pricePerGB: z.number().min(0).optional(),
});

export const OrchestrationSchema = z.strictObject({
  stateTransition: LatencySchema.optional(),
  sqsReceive: LatencySchema.optional(),
});

export const PricesSchema = z.strictObject({
  stepFunctionsPerTransition: z.number().min(0).optional(),
  sqsPerRequest: z.number().min(0).optional(),
  lambdaPerGbSecond: z.number().min(0).optional(),
  lambdaPerRequest: z.number().min(0).optional(),
  fargatePerVcpuHour: z.number().min(0).optional(),
  fargatePerGbHour: z.number().min(0).optional(),
  transferOutPerGb: z.number().min(0).optional(),
});

export const TopologySchema = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  description: z.string().optional(),
  /**
   * The runtime predicted: `embedded` (`ferry run`), `localstack` or `aws`.
   * Picks the default overheads (state transition, SQS receive, edge
   * dispatch, process start); values in this file win over them.
   * @default aws
   */
  runtime: z.enum(["embedded", "localstack", "aws"]).default("aws"),
  sites: z.record(siteName, TopologySiteSchema),
  links: z.array(LinkSchema).default([]),
  orchestration: OrchestrationSchema.optional(),
  prices: PricesSchema.optional(),
});

export type TopologySpec = z.output<typeof TopologySchema>;
export type TopologySiteSpec = z.output<typeof TopologySiteSchema>;
export type DeviceSpec = z.output<typeof DeviceSchema>;
export type LinkSpec = z.output<typeof LinkSchema>;
