import type { WorkflowIr } from "@ferry/dsl-compiler";
import type {
  GraphLayout,
  LogFile,
  Prediction,
  RunSourceKind,
  RunSummary,
  RunView,
  StepView,
} from "../run-view.ts";

export interface RunFilter {
  workflow?: string;
  status?: string;
  /** ISO time: runs started at or after it. */
  since?: string;
}

/** Where the UI reads runs from: local `.ferry/runs`, or a deployed workflow's executions. */
export interface RunSource {
  readonly kind: RunSourceKind;
  /** True when `id` is one of this source's runs (a run id, an execution ARN). */
  owns(id: string): boolean;
  list(filter: RunFilter): Promise<RunSummary[]>;
  /** Undefined for an unknown run. */
  get(id: string): Promise<RunView | undefined>;
  /** Every attempt's log of a step, tails kept. Undefined for an unknown run or step. */
  logs(id: string, step: string): Promise<LogFile[] | undefined>;
  /** Calls `onSteps` with steps that changed, until the run ends (then `onEnd`) or `signal` aborts. */
  follow(
    id: string,
    on: { onSteps(steps: StepView[]): void; onEnd(run: RunView): void },
    signal: AbortSignal,
  ): Promise<void>;
  /** Each action answers a line for the page and the audit log (resume: the new run's id). */
  cancel?(id: string): Promise<string>;
  resume?(id: string): Promise<string>;
  redrive?(id: string): Promise<string>;
  /**
   * Starts the spec (inside the project, its input already checked against
   * its schema) and answers the new run's id: a local run, or an execution ARN.
   */
  start?(spec: { specFile: string; ir: WorkflowIr }, input: unknown): Promise<string>;
  /** The simulator's prediction for the run's workflow; undefined when this source has none (say why in `predictionNote`). */
  prediction?(id: string): Promise<Prediction | undefined>;
  /** Cached layout of a run's DAG. */
  graph(id: string): Promise<GraphLayout | undefined>;
}

export function matches(run: RunSummary, filter: RunFilter): boolean {
  if (filter.workflow && run.workflow !== filter.workflow) return false;
  if (filter.status && run.status !== filter.status) return false;
  if (filter.since && run.startedAt < filter.since) return false;
  return true;
}

/** Keeps the tail of a log: a failure's cause is at its end. */
export function logTail(name: string, text: string, maxBytes = 64 * 1024): LogFile {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return { name, text, truncatedBytes: 0 };
  const buffer = Buffer.from(text);
  return { name, text: buffer.subarray(bytes - maxBytes).toString("utf8"), truncatedBytes: bytes - maxBytes };
}
