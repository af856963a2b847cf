import type { AttemptTrace, CostBreakdown, FailureReason } from "../engine/run-result.ts";
import type { CriticalPathReport } from "./critical-path.ts";

/** Distribution of a figure over the runs. */
export interface Spread {
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

export interface SiteReport {
  name: string;
  type: "aws" | "edge";
  /** Total slots of an edge site's devices; null for aws sites. */
  slots: number | null;
  /** Seconds attempts held slots, Lambda environments or Fargate workers, mean per run. */
  busySeconds: number;
  /** Busy slot-seconds over slots × makespan, mean over runs; null for aws sites, which scale. */
  utilisation: number | null;
  /** Most attempts at once in any run. */
  peakConcurrency: number;
}

export interface TransferReport {
  from: string;
  to: string;
  /** Mean per run. */
  bytes: number;
  /** Mean per run. */
  costUsd: number;
}

export interface BoundaryReport {
  site: string;
  /** Bytes leaving the site, mean per run. */
  bytesOut: number;
  bytesIn: number;
}

/** What `ferry simulate` reports; also its `--json` output. */
export interface SimulationReport {
  workflow: string;
  topology?: string;
  runs: number;
  seed: number;
  outcomes: { succeeded: number; failed: number; blocked: number };
  /** Over succeeded runs; null when none succeeded. */
  makespanSeconds: Spread | null;
  criticalPath: CriticalPathReport;
  sites: SiteReport[];
  transfers: TransferReport[];
  boundaries: BoundaryReport[];
  /** Mean per run, and the 95th percentile of the total. */
  cost: CostBreakdown & { p95Total: number };
  /** Means per run. */
  retries: number;
  lambdaColdStarts: number;
  fargateLaunches: number;
  /** Steps whose retries ran out, with how many runs each failed. */
  failures: Array<{ step: string; reason: FailureReason; runs: number }>;
  /** Present when runs could not finish: what they waited for. */
  blocked?: {
    runs: number;
    waitingSteps: string[];
    deadLinks: Array<{ from: string; to: string }>;
    unreachableSites: string[];
  };
  /** Index of the run closest to the median makespan; its trace draws the Gantt chart. */
  medianRun: number;
  trace?: AttemptTrace[];
}
