/** One attempt of one step (one item of a `foreach`), as the Gantt chart draws it. */
export interface AttemptTrace {
  step: string;
  item: number;
  /** Items of the step: 1 unless it is a `foreach`. */
  items: number;
  /** 1-based. */
  attempt: number;
  site: string;
  /** Device id on an edge site; `lambda`, `fargate-<n>` or `http` on an aws site. */
  resource: string;
  /** When the attempt took its slot, worker or Lambda environment. */
  startSeconds: number;
  /** When it began to compute, after cold start and input transfers; equals `endSeconds` if it never did. */
  computeStartSeconds: number;
  endSeconds: number;
  outcome: AttemptOutcome;
}

export type AttemptOutcome = "succeeded" | "failed" | "timed-out" | "device-failed";

export type RunStatus = "succeeded" | "failed" | "blocked";

/** Why an attempt failed: it ran past the task timeout (which counts from when its message was sent), or its device failed under it. */
export type FailureReason = "timed-out" | "device-failed";

/** USD for one run. */
export interface CostBreakdown {
  stepFunctions: number;
  sqs: number;
  lambda: number;
  fargate: number;
  transfer: number;
  edge: number;
  total: number;
}

/** What one simulated execution of the workflow did. Arrays are indexed like the model's sites and links. */
export interface RunResult {
  status: RunStatus;
  /** Finish of the last step; for a failed or blocked run, when it stopped. */
  makespanSeconds: number;
  /** The step whose retries ran out. */
  failedStep?: string;
  /** How its last attempt failed. */
  failedReason?: FailureReason;
  /** Why a run could not go on: steps left waiting and the dead links or unreachable sites they wait on. */
  blocked?: {
    waitingSteps: string[];
    deadLinks: Array<{ from: string; to: string }>;
    unreachableSites: string[];
  };
  attempts: number;
  retries: number;
  lambdaColdStarts: number;
  fargateLaunches: number;
  siteBusySeconds: number[];
  sitePeakConcurrency: number[];
  linkBytes: number[];
  cost: CostBreakdown;
  trace?: AttemptTrace[];
}
