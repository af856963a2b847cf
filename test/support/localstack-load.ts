/**
 * Load and timing tools for LocalStack runs, shared by the load test and
 * `bench/localstack.ts`: a chain of no-op steps, many concurrent
 * executions, and per-step timings read from execution histories.
 */
import {
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { awsClientConfig } from "./env.ts";

/**
 * A chain of `steps` no-op process steps on one edge site, with no
 * heartbeat (`heartbeatSeconds: 0`): under load
 * LocalStack 4.14 loses some answers to heartbeat tasks that arrive before
 * it arms the heartbeat timer (see infra/src/deploy/README.md), and this
 * workflow measures Ferry, not that race. The timeout is generous because a
 * saturated LocalStack takes up to a minute between two states, and a
 * task's timeout starts when its state is entered.
 */
export function chainSpec(name: string, steps = 5): string {
  return JSON.stringify({
    name,
    description: `${steps} no-op process steps in a chain, for load tests and benchmarks.`,
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 600, heartbeatSeconds: 0 },
    steps: Array.from({ length: steps }, (_, i) => ({
      name: `s${i + 1}`,
      site: "lab",
      ...(i > 0 ? { depends: [`s${i}`] } : {}),
      process: { command: ["true"] },
    })),
  });
}

function sfnClient(region: string): SFNClient {
  return new SFNClient({ ...awsClientConfig(), region });
}

/** Starts `count` executions, `parallel` StartExecution calls at a time; returns their ARNs. */
export async function startMany(
  stateMachineArn: string,
  count: number,
  options: { region: string; parallel?: number; input?: unknown },
): Promise<string[]> {
  const sfn = sfnClient(options.region);
  const arns: string[] = [];
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: options.parallel ?? 10 }, async () => {
        for (let i = next++; i < count; i = next++) {
          const out = await sfn.send(
            new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(options.input ?? { n: i }) }),
          );
          arns.push(out.executionArn!);
        }
      }),
    );
  } finally {
    sfn.destroy();
  }
  return arns;
}

async function listAll(
  sfn: SFNClient,
  stateMachineArn: string,
  statusFilter?: ExecutionStatus,
): Promise<number> {
  let total = 0;
  let nextToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: 1000,
        ...(statusFilter ? { statusFilter } : {}),
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    total += out.executions?.length ?? 0;
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return total;
}

/**
 * Polls until no execution of the state machine runs, bounded by
 * `timeoutMs`; returns the count per final status and when the last ended.
 */
export async function waitUntilIdle(
  stateMachineArn: string,
  options: { region: string; timeoutMs: number; pollMs?: number },
): Promise<{ counts: Record<string, number>; idleAt: number }> {
  const sfn = sfnClient(options.region);
  try {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const running = await listAll(sfn, stateMachineArn, "RUNNING");
      if (running === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${running} executions of ${stateMachineArn} still RUNNING after ${options.timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
    const idleAt = Date.now();
    const counts: Record<string, number> = {};
    for (const status of ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const) {
      counts[status] = await listAll(sfn, stateMachineArn, status);
    }
    return { counts, idleAt };
  } finally {
    sfn.destroy();
  }
}

/** ARNs of the state machine's executions with this status (up to 1,000). */
export async function executionsWithStatus(
  stateMachineArn: string,
  status: ExecutionStatus,
  region: string,
): Promise<string[]> {
  const sfn = sfnClient(region);
  try {
    const out = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: status, maxResults: 1000 }),
    );
    return (out.executions ?? []).map((e) => e.executionArn!);
  } finally {
    sfn.destroy();
  }
}

/** Per-step timestamps of one execution, in step order. */
export interface StepTiming {
  step: string;
  scheduledMs: number;
  succeededMs: number;
}

/** Reads the scheduled and succeeded times of each step task from an execution's history. */
export async function stepTimings(executionArn: string, region: string): Promise<StepTiming[]> {
  const sfn = sfnClient(region);
  try {
    const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    return timingsOf(out.events ?? []);
  } finally {
    sfn.destroy();
  }
}

export function timingsOf(events: HistoryEvent[]): StepTiming[] {
  const stateOfEntered = new Map<number, string>();
  const byId = new Map(events.map((e) => [e.id!, e]));
  const stateOf = (event: HistoryEvent): string | undefined => {
    let current: HistoryEvent | undefined = event;
    for (let hops = 0; current && hops < 1000; hops++) {
      if (current.type === "TaskStateEntered") return current.stateEnteredEventDetails?.name;
      current = current.previousEventId ? byId.get(current.previousEventId) : undefined;
    }
    return undefined;
  };
  const timings = new Map<string, StepTiming>();
  for (const e of events) {
    if (e.type === "TaskStateEntered") stateOfEntered.set(e.id!, e.stateEnteredEventDetails?.name ?? "");
    if (e.type !== "TaskScheduled" && e.type !== "TaskSucceeded") continue;
    const step = stateOf(e);
    if (!step) continue;
    const t = timings.get(step) ?? { step, scheduledMs: Number.NaN, succeededMs: Number.NaN };
    if (e.type === "TaskScheduled" && Number.isNaN(t.scheduledMs)) t.scheduledMs = e.timestamp!.getTime();
    if (e.type === "TaskSucceeded") t.succeededMs = e.timestamp!.getTime();
    timings.set(step, t);
  }
  return [...timings.values()].sort((a, b) => a.scheduledMs - b.scheduledMs);
}

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
