import type { WorkflowIr } from "@ferry/dsl-compiler";
import { type Latency, Z95 } from "../topology/latency.ts";
import type { RunRecord } from "./run-record.ts";

/**
 * One deployed execution as calibration reads it: per step, when Step
 * Functions scheduled its task and saw the answer (the history, mapped to
 * steps through the state index), and when the agent ran it (its
 * provenance record). Built by the caller from the cloud; pure data here.
 */
export interface ExecutionTimeline {
  /** The execution's ARN or name, for messages. */
  source: string;
  startedAt?: string;
  finishedAt?: string;
  steps: ExecutionTimelineStep[];
}

export interface ExecutionTimelineStep {
  name: string;
  site?: string;
  /** `succeeded`, `failed`, … as `ferry status` reports it. */
  status: string;
  /** TaskScheduled of its first attempt (ISO 8601). */
  scheduledAt?: string;
  /** Its last terminal task event (TaskSucceeded for a success). */
  answeredAt?: string;
  /** The agent's start and end of the successful attempt (provenance record). */
  agentStartedAt?: string;
  agentFinishedAt?: string;
}

/** One fitted overhead term: the log-normal the simulation draws from, and the samples' figures. */
export interface FittedTerm {
  latency: Latency;
  medianSeconds: number;
  meanSeconds: number;
  p95Seconds: number;
  samples: number;
}

/** The orchestration terms fitted from an execution. */
export interface OrchestrationFit {
  /**
   * Last dependency's end on its agent → the step's TaskScheduled (the
   * execution's start for a first step): the answer, Step Functions'
   * transition and the next Task state's SendMessage.
   */
  stateTransition?: FittedTerm;
  /**
   * TaskScheduled → the agent's start, over steps that found a free slot:
   * SQS receive, the agent's dispatch and its process start.
   */
  queueAgent?: FittedTerm;
  /** The agent's end → TaskSucceeded (a part of `stateTransition`, shown on its own). */
  answer?: FittedTerm;
}

const time = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * The execution as a run record, with each step's span taken from its agent
 * (what the step itself took on a slot) when there is a provenance record,
 * else from its task (scheduled → answered, which also holds queue time).
 */
export function runRecordFromTimeline(timeline: ExecutionTimeline): RunRecord {
  return {
    ...(timeline.startedAt ? { startedAt: timeline.startedAt } : {}),
    ...(timeline.finishedAt ? { finishedAt: timeline.finishedAt } : {}),
    steps: timeline.steps.map((s) => {
      const startedAt = s.agentStartedAt ?? s.scheduledAt;
      const finishedAt = s.agentFinishedAt ?? s.answeredAt;
      return {
        name: s.name,
        ...(s.site ? { site: s.site } : {}),
        status: s.status,
        ...(startedAt ? { startedAt } : {}),
        ...(finishedAt ? { finishedAt } : {}),
      };
    }),
  };
}

/** Fits the transition, queue-and-agent and answer terms from the execution's timestamps. */
export function fitOrchestration(timeline: ExecutionTimeline, ir: WorkflowIr): OrchestrationFit {
  const byName = new Map(timeline.steps.map((s) => [s.name, s]));
  const runStart = time(timeline.startedAt);
  const spans = timeline.steps.flatMap((s) => {
    const start = time(s.agentStartedAt);
    const end = time(s.agentFinishedAt);
    return start !== undefined && end !== undefined && end >= start ? [{ start, end }] : [];
  });
  // Slots the agents had: the most steps they ran at once. A step scheduled
  // while all were busy waited for one, which is not a dispatch cost.
  const busyAt = (t: number) => spans.filter((s) => s.start <= t && s.end > t).length;
  const slots = Math.max(0, ...spans.map((s) => busyAt(s.start)));
  const transition: number[] = [];
  const queue: number[] = [];
  const answer: number[] = [];
  for (const step of ir.steps) {
    const s = byName.get(step.name);
    const scheduled = time(s?.scheduledAt);
    if (!s || scheduled === undefined) continue;
    const deps = step.depends.map((d) => time(byName.get(d)?.agentFinishedAt));
    const ready =
      deps.length === 0
        ? runStart
        : deps.every((d) => d !== undefined)
          ? Math.max(...(deps as number[]))
          : undefined;
    if (ready !== undefined && scheduled >= ready) transition.push((scheduled - ready) / 1000);
    const start = time(s.agentStartedAt);
    // A free slot both when the task was scheduled and just before the step started.
    if (start !== undefined && start >= scheduled && busyAt(scheduled) < slots && busyAt(start - 1) < slots)
      queue.push((start - scheduled) / 1000);
    const end = time(s.agentFinishedAt);
    const answered = time(s.answeredAt);
    if (end !== undefined && answered !== undefined && answered >= end) answer.push((answered - end) / 1000);
  }
  const fit: OrchestrationFit = {};
  // LocalStack's one engine works through the states that became ready in
  // turn, so the transition's spread is shared by the steps of a layer, not
  // drawn for each: simulated as its mean, its spread is reported only.
  const t = fitTerm(transition, { constant: true });
  const q = fitTerm(queue);
  const a = fitTerm(answer);
  if (t) fit.stateTransition = t;
  if (q) fit.queueAgent = q;
  if (a) fit.answer = a;
  return fit;
}

/**
 * A log-normal from samples' median and p95 that keeps their mean (a chain
 * of steps adds up the mean), with σ capped so one outlier cannot blow it up;
 * `constant`: their mean alone.
 */
export function fitTerm(
  samples: readonly number[],
  options: { constant?: boolean } = {},
): FittedTerm | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))]!;
  const medianSeconds = q(0.5);
  const p95Seconds = q(0.95);
  const meanSeconds = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  let latency: Latency;
  if (options.constant || !(medianSeconds > 0) || p95Seconds <= medianSeconds)
    latency = { kind: "constant", seconds: meanSeconds };
  else {
    const sigma = Math.min(Math.log(p95Seconds / medianSeconds) / Z95, 1.5);
    latency = { kind: "lognormal", medianSeconds: meanSeconds / Math.exp((sigma * sigma) / 2), sigma };
  }
  return { latency, medianSeconds, meanSeconds, p95Seconds, samples: sorted.length };
}
