import type { WorkflowIr } from "@ferry/dsl-compiler";
import { isFinalAttempt, isRetriable } from "@ferry/dsl-compiler/contract";
import type { StepRecord, StepStatus } from "./run-record.ts";

export interface AttemptEnd {
  ok: boolean;
  /** 1 for the first attempt (of this item, for a `foreach` step). */
  attempt: number;
  /** Stopped because the run was cancelled (or the worker shut down), not because the step failed. */
  cancelled?: boolean;
  exitCode?: number | null;
  error?: string;
  cause?: string;
  /** Relative to the run folder. */
  logPath?: string;
  /** Answered by the step cache: the execution that ran it. */
  cachedFrom?: string;
  at: Date;
}

/**
 * Per-step status of one run, fed by the worker's attempt hooks and by the
 * dispatcher (HTTP tasks, reused outputs). A `foreach` step is one record
 * over all of its items.
 */
export class StepTracker {
  private readonly records = new Map<string, StepRecord>();
  private readonly inFlight = new Map<string, number>();
  private readonly maxAttempts = new Map<string, number>();
  private readonly foreach = new Set<string>();
  private readonly listeners: Array<(step: StepRecord) => void> = [];

  constructor(ir: WorkflowIr, previous: StepRecord[] = []) {
    const before = new Map(previous.map((s) => [s.name, s]));
    for (const step of ir.steps) {
      this.records.set(step.name, {
        name: step.name,
        site: step.site,
        depends: [...step.depends],
        status: "PENDING",
        attempts: 0,
        ...(before.get(step.name)?.logPath ? { logPath: before.get(step.name)!.logPath } : {}),
      });
      this.maxAttempts.set(step.name, step.retry.maxAttempts);
      if (step.foreach) this.foreach.add(step.name);
      this.inFlight.set(step.name, 0);
    }
  }

  onChange(listener: (step: StepRecord) => void): void {
    this.listeners.push(listener);
  }

  get steps(): StepRecord[] {
    return [...this.records.values()];
  }

  get(step: string): StepRecord | undefined {
    return this.records.get(step);
  }

  /** For a `foreach` step, the items running now; undefined for other steps. */
  itemsRunning(step: string): number | undefined {
    return this.foreach.has(step) ? this.inFlight.get(step) : undefined;
  }

  attemptStarted(step: string, at: Date): void {
    const r = this.records.get(step);
    if (!r) return;
    this.inFlight.set(step, this.inFlight.get(step)! + 1);
    r.attempts++;
    r.startedAt ??= at.toISOString();
    delete r.finishedAt;
    this.set(r, "RUNNING");
  }

  attemptFinished(step: string, end: AttemptEnd): void {
    const r = this.records.get(step);
    if (!r) return;
    this.inFlight.set(step, Math.max(0, this.inFlight.get(step)! - 1));
    if (end.exitCode !== undefined) r.exitCode = end.exitCode;
    if (end.logPath) r.logPath = end.logPath;
    if (end.cachedFrom !== undefined) {
      r.cacheHits = (r.cacheHits ?? 0) + 1;
      r.cachedFrom = end.cachedFrom;
    }
    if (end.ok) {
      if (this.inFlight.get(step)! > 0) return;
      delete r.error;
      delete r.cause;
      r.finishedAt = end.at.toISOString();
      this.set(r, "SUCCEEDED");
      return;
    }
    r.error = end.error;
    r.cause = end.cause;
    r.finishedAt = end.at.toISOString();
    if (end.cancelled) {
      this.set(r, "CANCELLED");
      return;
    }
    // Whether Step Functions retries is its decision; this is the likely outcome, settled when the run ends.
    const retries = isRetriable(end.error ?? "") && !isFinalAttempt(end.attempt, this.maxAttempts.get(step)!);
    this.set(r, retries ? "RETRYING" : "FAILED");
  }

  reused(step: string, at: Date): void {
    const r = this.records.get(step);
    if (!r) return;
    r.reused = true;
    r.startedAt ??= at.toISOString();
    r.finishedAt = at.toISOString();
    this.set(r, "SUCCEEDED");
  }

  /** Settles statuses when the run ends: what was still running was cancelled, or failed with the run. */
  finish(runStatus: "SUCCEEDED" | "FAILED" | "CANCELLED", at: Date): void {
    for (const r of this.records.values()) {
      if (r.status === "RUNNING" || r.status === "RETRYING") {
        r.finishedAt ??= at.toISOString();
        this.set(r, runStatus === "CANCELLED" || r.status === "RUNNING" ? "CANCELLED" : "FAILED");
      }
    }
  }

  private set(r: StepRecord, status: StepStatus): void {
    r.status = status;
    for (const listener of this.listeners) listener(r);
  }
}
