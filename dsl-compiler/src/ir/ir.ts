import type { MaybeSecret } from "../contract/secrets.ts";

/**
 * The intermediate representation: a normalized DAG with defaults applied and
 * placement resolved. Everything after this point (ASL, CDK, manifest,
 * workers, simulator) reads the IR, never the raw spec.
 */
export interface WorkflowIr {
  irVersion: 1;
  name: string;
  description?: string;
  sites: Record<string, IrSite>;
  /**
   * Steps in a topological order (spec order among steps that are ready
   * together); failure handlers and `finally` steps (see `IrStep.phase`)
   * come last, outside the DAG.
   */
  steps: IrStep[];
  /** JSON Schema the run input must satisfy (see `validateWorkflowInput`). */
  input?: Record<string, unknown>;
  /** Queues the compiled workflow sends step messages to. */
  queues: IrQueue[];
  /** Steps nothing depends on; the workflow output is the map of their outputs. */
  sinks: string[];
  /** What starts a run besides `ferry start`; absent when the spec has no `triggers:`. */
  triggers?: IrTrigger[];
  /** Where each execution's result is announced; absent when the spec has no `notify:`. */
  notify?: IrNotify;
}

/**
 * The spec's `notify:`: an EventBridge rule on the root machine's
 * "Step Functions Execution Status Change" events (SUCCEEDED, FAILED,
 * TIMED_OUT, ABORTED) publishes a `NotifyMessage` to the topic, or hands it
 * to the stack's notify function, which signs it and POSTs it to the URL.
 */
export type IrNotify =
  /** `topicArn`: an existing topic, whose policy must let the rule publish; `create`: one the stack creates. */
  | { sns: { topicArn: string } | { create: true }; http?: undefined }
  /** `secretRef`: the HMAC key's reference (`ssm:…` or `secretsmanager:…`), read when signing. */
  | { http: { url: string; secretRef: string }; sns?: undefined };

/**
 * One trigger, deployed as an EventBridge rule on the default bus that
 * starts the root state machine.
 */
export interface IrTrigger {
  /** Unique within the workflow: the spec's name or `<kind>-<position>`. */
  name: string;
  /** Position in the spec's `triggers` list, for diagnostics. */
  specIndex: number;
  description?: string;
  enabled: boolean;
  source:
    | { kind: "schedule"; expression: string }
    /** `bucket` absent: the workflow's own job-files bucket. */
    | { kind: "s3"; bucket?: string; prefix?: string; suffix?: string }
    | { kind: "event"; pattern: Record<string, unknown> };
  /** Template of the execution input (paths such as `$.detail.object.key`); absent: the whole event. */
  input?: unknown;
}

export interface IrSite {
  name: string;
  type: "aws" | "edge";
  region?: string;
  labels: Record<string, string>;
}

export type IrRuntime =
  | { kind: "process"; command: string[]; env: Record<string, MaybeSecret>; workingDir?: string }
  | {
      kind: "container";
      image: string;
      /** Set by `ferry compile --pin-images`: the image id agents must run; a mismatch is refused. */
      imageDigest?: string;
      command?: string[];
      entrypoint?: string[];
      env: Record<string, MaybeSecret>;
      network: "none" | "host" | "bridge";
      volumes: Array<{ hostPath: string; containerPath: string; readOnly: boolean }>;
      workingDir?: string;
      /**
       * The spec's `allowHost: true`: the step may use the host network and
       * host folders. Agents also require their own config to allow them.
       * Absent when not granted.
       */
      allowHost?: true;
    }
  | {
      kind: "function";
      handler: string;
      file: string;
      exportName: string;
      memoryMiB?: number;
      env: Record<string, MaybeSecret>;
    }
  | { kind: "http"; method: string; url: string; headers: Record<string, MaybeSecret>; body?: unknown };

/**
 * Who executes the step: an agent polling its site's queue, a Lambda function
 * fed by its own queue, a Fargate worker pool, or Step Functions' HTTP task.
 */
export type Executor = "agent" | "lambda" | "fargate" | "http-task";

export interface ResolvedRetry {
  /** Total attempts including the first. */
  maxAttempts: number;
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds?: number;
  jitter?: "FULL" | "NONE";
}

export interface IrCache {
  enabled: boolean;
  /** Entries older than this miss (checked on read). Absent: no expiry. */
  ttlSeconds?: number;
  /** Extra strings mixed into the key. */
  key?: string[];
}

export interface IrStep {
  name: string;
  description?: string;
  /** Position in the spec's `steps` list, for diagnostics. */
  specIndex: number;
  site: string;
  siteType: "aws" | "edge";
  runtime: IrRuntime;
  executor: Executor;
  /** Queue id the step's message goes to; absent for `http-task`. */
  queue?: string;
  depends: string[];
  dependents: string[];
  resources: { cpu: number; memoryMiB: number; gpu: number };
  retry: ResolvedRetry;
  timeoutSeconds: number;
  heartbeatSeconds?: number;
  foreach?: IrForeach;
  inputs: string[];
  /** The site of the step that wrote each input (job files live under the writing site's keys). */
  inputSites: Record<string, string>;
  outputs: string[];
  /** `cache:` (or `defaults.cache`) resolved; workers key entries on content, see `stepCacheKey`. */
  cache: IrCache;
  requires: Record<string, string>;
  hints: Record<string, unknown>;
  /**
   * Absent for steps of the DAG. `handler`: runs only when a step naming it
   * in `onFailure` fails. `finally`: runs after the DAG, success or failure.
   * Neither has depends or dependents.
   */
  phase?: "handler" | "finally";
  /** What a failure (after retries) does. @default absent — the run fails. */
  onFailure?: IrOnFailure;
}

/**
 * A `foreach` fan-out. `inline`: a Map over a list in the step input (it
 * and every result must fit in the 256 KiB state). `distributed`: a
 * Distributed Map whose items are read from the job bucket and whose
 * results are written back to it (see `foreachResultsFolder`).
 */
export type IrForeach =
  | { mode: "inline"; items: string; maxConcurrency: number }
  | {
      mode: "distributed";
      reader: IrItemReader;
      /** The site whose execution folder holds the files (the site of the steps that wrote them). */
      readSite: string;
      /** 0: no limit (Step Functions runs up to 10,000 child executions at once). */
      maxConcurrency: number;
      /** The step fails when more than this percentage of its items fail. @default 0 */
      toleratedFailurePercentage: number;
      /** Children run on batches of items (an ItemBatcher); absent: one child per item. */
      batch?: IrItemBatch;
    };

/** A Distributed Map's batching: at least one of the limits is set. */
export interface IrItemBatch {
  maxItems?: number;
  maxBytes?: number;
  /** Every batch's `BatchInput`. */
  input: Record<string, unknown>;
}

/** Where a Distributed Map's items come from, as job-file names (relative to `readSite`'s execution folder). */
export type IrItemReader =
  | { kind: "files"; prefix: string }
  | { kind: "records"; file: string; format: "json" | "csv" | "jsonl" };

export type IrOnFailure = { kind: "continue" } | { kind: "handler"; step: string };

/** The steps of the DAG, without handlers and `finally` steps. */
export function dagSteps(ir: Pick<WorkflowIr, "steps">): IrStep[] {
  return ir.steps.filter((s) => s.phase === undefined);
}

export interface IrQueue {
  /** Stable id, e.g. `site-lab`, `fn-load`, `fargate-cloud-busybox-1-765f87` (one per aws site and step image). */
  id: string;
  site: string;
  executor: Exclude<Executor, "http-task">;
  steps: string[];
}

/** @default 3600 — Step Functions would otherwise wait up to a year for a task token. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;
/** @default 60 — lets a dead worker be noticed within a minute. */
export const DEFAULT_HEARTBEAT_SECONDS = 60;
/** @default one attempt — retries are opt-in, as in Step Functions. */
export const DEFAULT_RETRY: ResolvedRetry = { maxAttempts: 1, intervalSeconds: 1, backoffRate: 2 };
export const DEFAULT_RESOURCES = { cpu: 1, memoryMiB: 512, gpu: 0 } as const;
