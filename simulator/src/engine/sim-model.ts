import { type Executor, executorFor, type WorkflowIr } from "@ferry/dsl-compiler";
import { SimulatorError } from "../errors.ts";
import type { StepCost } from "../model/step-costs.ts";
import { isRandom, type Latency } from "../topology/latency.ts";
import { LAMBDA_MAX_TIMEOUT_SECONDS, type Prices } from "../topology/service-defaults.ts";
import type { Topology } from "../topology/topology.ts";

/** Step → site overrides; steps not named keep the spec's site. */
export type Placement = Readonly<Record<string, string>>;

export const EXECUTOR_CODES: Readonly<Record<Executor, number>> = {
  agent: 0,
  lambda: 1,
  fargate: 2,
  "http-task": 3,
};
export const EXEC_AGENT = 0;
export const EXEC_LAMBDA = 1;
export const EXEC_FARGATE = 2;
export const EXEC_HTTP = 3;

export interface ModelStep {
  index: number;
  name: string;
  specIndex: number;
  site: number;
  executor: number;
  deps: number[];
  dependents: number[];
  /** Dependencies on other sites whose output must be moved here before the step computes. */
  remoteInputs: number[];
  durationSeconds: number;
  outputBytes: number;
  items: number;
  /** `Infinity` when a foreach has no limit. */
  maxConcurrency: number;
  memoryMiB: number;
  gpu: number;
  cpu: number;
  maxAttempts: number;
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds: number;
  jitterFull: boolean;
  timeoutSeconds: number;
  /** `Infinity` when the step sends no heartbeats. */
  heartbeatSeconds: number;
}

export interface ModelDevice {
  /** Index over all devices of the model. */
  index: number;
  site: number;
  id: string;
  slots: number;
  speed: number;
  memoryMiB: number;
  gpu: number;
  mtbfSeconds: number;
  mttrSeconds: number;
  costPerHour: number;
}

export interface ModelSite {
  index: number;
  name: string;
  type: "aws" | "edge";
  devices: ModelDevice[];
  slotCapacity: number;
  lambda?: { coldStart: Latency; concurrency: number; keepWarmSeconds: number; speed: number };
  fargate?: {
    start: Latency;
    maxTasks: number;
    scaleInSeconds: number;
    speed: number;
    workerCpu: number;
    workerMemoryMiB: number;
  };
  dispatchLatency?: Latency;
  /** Seconds each step start holds the site's one start loop, and seconds every step adds. */
  startSerialSeconds: number;
  startFixedSeconds: number;
  /** Latency of the queue messages' way from the cloud to this site's agents. */
  controlLatencySeconds: number;
  /** False when agents here cannot reach any cloud site's queues. */
  controlReachable: boolean;
}

export interface ModelLink {
  index: number;
  from: number;
  to: number;
  bytesPerSecond: number;
  latencySeconds: number;
  pricePerGB: number;
}

/** Everything one simulated run reads, resolved once per placement. */
export interface SimModel {
  workflow: string;
  steps: ModelStep[];
  sites: ModelSite[];
  devices: ModelDevice[];
  links: ModelLink[];
  /** `linkIndex[from * sites.length + to]`, or -1 when no usable link exists. */
  linkIndex: Int32Array;
  stateTransition: Latency;
  sqsReceive: Latency;
  prices: Prices;
  /** Only the `aws` runtime pays for Step Functions and SQS; `ferry run` and LocalStack do not bill. */
  billsOrchestration: boolean;
  /** False when nothing in the model is random, so one run says everything. */
  stochastic: boolean;
}

/** Smallest Fargate task size. @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size */
const FARGATE_MIN = { cpu: 0.25, memoryMiB: 512 };

/**
 * Builds the model of `ir` placed on `topology`. Call only after
 * {@link checkWorkflowOnTopology} found no errors; an unknown site throws.
 */
export function buildSimModel(
  ir: WorkflowIr,
  topology: Topology,
  costs: readonly StepCost[],
  placement: Placement = {},
): SimModel {
  const siteNames = Object.keys(topology.sites);
  const siteIndex = new Map(siteNames.map((n, i) => [n, i]));
  const stepIndex = new Map(ir.steps.map((s, i) => [s.name, i]));
  const steps: ModelStep[] = ir.steps.map((step, i) => {
    const siteName = placement[step.name] ?? step.site;
    const site = siteIndex.get(siteName);
    const topoSite = topology.sites[siteName];
    if (site === undefined || !topoSite)
      throw new SimulatorError(
        "BROKEN_INVARIANT",
        `step "${step.name}" is placed on "${siteName}", which the topology does not describe`,
      );
    const executor = EXECUTOR_CODES[executorFor(topoSite.type, step.runtime.kind)];
    const cost = costs[i]!;
    const timeout =
      executor === EXEC_LAMBDA
        ? Math.min(step.timeoutSeconds, LAMBDA_MAX_TIMEOUT_SECONDS)
        : step.timeoutSeconds;
    const memoryMiB =
      executor === EXEC_LAMBDA && step.runtime.kind === "function"
        ? (step.runtime.memoryMiB ?? step.resources.memoryMiB)
        : step.resources.memoryMiB;
    return {
      index: i,
      name: step.name,
      specIndex: step.specIndex,
      site,
      executor,
      deps: step.depends.map((d) => stepIndex.get(d)!),
      dependents: step.dependents.map((d) => stepIndex.get(d)!),
      remoteInputs: [],
      durationSeconds: cost.durationSeconds,
      outputBytes: cost.outputBytes,
      items: cost.foreachItems,
      maxConcurrency:
        step.foreach && step.foreach.maxConcurrency > 0
          ? step.foreach.maxConcurrency
          : Number.POSITIVE_INFINITY,
      memoryMiB,
      gpu: step.resources.gpu,
      cpu: cost.cpu,
      maxAttempts: step.retry.maxAttempts,
      intervalSeconds: step.retry.intervalSeconds,
      backoffRate: step.retry.backoffRate,
      maxDelaySeconds: step.retry.maxDelaySeconds ?? Number.POSITIVE_INFINITY,
      jitterFull: step.retry.jitter === "FULL",
      timeoutSeconds: timeout,
      heartbeatSeconds: step.heartbeatSeconds ?? Number.POSITIVE_INFINITY,
    };
  });
  for (const step of steps) {
    // An HTTP task gets its input from Step Functions' payload, never from job files.
    if (step.executor === EXEC_HTTP) continue;
    step.remoteInputs = step.deps.filter((d) => steps[d]!.site !== step.site && steps[d]!.outputBytes > 0);
  }

  const links: ModelLink[] = [];
  const linkIndex = new Int32Array(siteNames.length * siteNames.length).fill(-1);
  for (const link of topology.links) {
    if (link.bandwidthMbps <= 0) continue;
    const from = siteIndex.get(link.from)!;
    const to = siteIndex.get(link.to)!;
    linkIndex[from * siteNames.length + to] = links.length;
    links.push({
      index: links.length,
      from,
      to,
      bytesPerSecond: (link.bandwidthMbps * 1e6) / 8,
      latencySeconds: link.latencySeconds,
      pricePerGB: link.pricePerGB,
    });
  }

  const devices: ModelDevice[] = [];
  const awsSites = siteNames.filter((n) => topology.sites[n]!.type === "aws").map((n) => siteIndex.get(n)!);
  const sites: ModelSite[] = siteNames.map((name, index) => {
    const site = topology.sites[name]!;
    const base = {
      index,
      name,
      type: site.type,
      ...(site.dispatchLatency ? { dispatchLatency: site.dispatchLatency } : {}),
      startSerialSeconds: site.type === "edge" ? (site.startOverhead?.serialSeconds ?? 0) : 0,
      startFixedSeconds: site.type === "edge" ? (site.startOverhead?.fixedSeconds ?? 0) : 0,
    };
    if (site.type === "aws") {
      const fargateSteps = steps.filter((s) => s.site === index && s.executor === EXEC_FARGATE);
      return {
        ...base,
        devices: [],
        slotCapacity: 0,
        lambda: { ...site.lambda },
        fargate: {
          ...site.fargate,
          workerCpu: Math.max(FARGATE_MIN.cpu, ...fargateSteps.map((s) => s.cpu)),
          workerMemoryMiB: Math.max(FARGATE_MIN.memoryMiB, ...fargateSteps.map((s) => s.memoryMiB)),
        },
        controlLatencySeconds: 0,
        controlReachable: true,
      };
    }
    const own = site.devices.map((d): ModelDevice => {
      const device: ModelDevice = {
        index: devices.length,
        site: index,
        id: d.id,
        slots: d.slots,
        speed: d.speed,
        memoryMiB: d.memoryMiB,
        gpu: d.gpu,
        mtbfSeconds: d.failure?.mtbfSeconds ?? Number.POSITIVE_INFINITY,
        mttrSeconds: d.failure?.mttrSeconds ?? 0,
        costPerHour: d.costPerHour,
      };
      devices.push(device);
      return device;
    });
    // Agents long-poll the cloud's queues and answer Step Functions: they need both directions.
    const control = awsSites
      .filter((a) => linkIndex[index * siteNames.length + a]! >= 0)
      .map((a) => linkIndex[a * siteNames.length + index]!)
      .filter((l) => l >= 0);
    return {
      ...base,
      devices: own,
      slotCapacity: own.reduce((n, d) => n + d.slots, 0),
      // Without a cloud site (a local model) nothing is in the way.
      controlLatencySeconds: control.length ? Math.min(...control.map((l) => links[l]!.latencySeconds)) : 0,
      controlReachable: awsSites.length === 0 || control.length > 0,
    };
  });

  const latencies = [
    topology.orchestration.stateTransition,
    topology.orchestration.sqsReceive,
    ...sites.flatMap((s) => [s.dispatchLatency, s.lambda?.coldStart, s.fargate?.start]),
  ];
  const stochastic =
    latencies.some((l) => l !== undefined && isRandom(l)) ||
    devices.some((d) => Number.isFinite(d.mtbfSeconds));
  return {
    workflow: ir.name,
    steps,
    sites,
    devices,
    links,
    linkIndex,
    stateTransition: topology.orchestration.stateTransition,
    sqsReceive: topology.orchestration.sqsReceive,
    prices: topology.prices,
    billsOrchestration: topology.runtime === "aws",
    stochastic,
  };
}
