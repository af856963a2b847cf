import type { Latency } from "./latency.ts";
import type { Prices, RuntimeName } from "./service-defaults.ts";

/** Where a runtime overhead term came from: the topology file, the runtime's defaults, or a run record. */
export type TermSource = "topology" | "runtime" | "calibration";

/** A topology with every default applied: what the simulator reads. */
export interface Topology {
  name?: string;
  runtime: RuntimeName;
  sites: Record<string, TopologySite>;
  /** Directed links; a bidirectional link of the file appears twice. */
  links: TopologyLink[];
  orchestration: { stateTransition: Latency; sqsReceive: Latency };
  /** Where each orchestration term came from. */
  orchestrationSources: { stateTransition: TermSource; sqsReceive: TermSource };
  prices: Prices;
}

export type TopologySite = EdgeSite | AwsSite;

export interface EdgeSite {
  name: string;
  type: "edge";
  /** One entry per physical device (groups expanded by `count`). */
  devices: Device[];
  dispatchLatency?: Latency;
  startOverhead?: { fixedSeconds: number; serialSeconds: number };
  /** Where `dispatchLatency` and `startOverhead` came from, when set. */
  sources: { dispatchLatency?: TermSource; startOverhead?: TermSource };
}

export interface Device {
  /** `pi-1`, `pi-2`, … */
  id: string;
  /** Index of the device group in the file, for diagnostics. */
  groupIndex: number;
  slots: number;
  speed: number;
  /** `Infinity` when the file gives none. */
  memoryMiB: number;
  gpu: number;
  failure?: { mtbfSeconds: number; mttrSeconds: number };
  costPerHour: number;
}

export interface AwsSite {
  name: string;
  type: "aws";
  lambda: { coldStart: Latency; concurrency: number; keepWarmSeconds: number; speed: number };
  fargate: { start: Latency; maxTasks: number; scaleInSeconds: number; speed: number };
  dispatchLatency?: Latency;
}

export interface TopologyLink {
  from: string;
  to: string;
  bandwidthMbps: number;
  latencySeconds: number;
  pricePerGB: number;
  /** Index in the file's `links`, for diagnostics. */
  specIndex: number;
}

/** @default 600 — ten minutes to reboot or replace a device. */
export const DEFAULT_MTTR_SECONDS = 600;
