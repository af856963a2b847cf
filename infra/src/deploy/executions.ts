import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  RedriveExecutionCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { StateIndex } from "@ferry/dsl-compiler";
import { START_OPTIONS_KEY } from "@ferry/dsl-compiler/contract";
import { type AwsContext, clientConfig, regionOfArn } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import { readExecutionProvenance } from "./execution-browse.ts";
import { hasEnded, openTaskTokens, redriveRefusal, stopRefusal } from "./execution-control.ts";
import { buildExecutionReport, type ExecutionReport } from "./execution-report.ts";
import { getStateIndex } from "./state-index-store.ts";

/** Step Functions returns at most 1,000 events a page; 25 pages cover the 25,000-event history limit. */
const MAX_HISTORY_PAGES = 25;
/** How deep `ferry status` follows child executions. */
const MAX_CHILD_DEPTH = 3;

function sfnFor(context: AwsContext, arn: string): SFNClient {
  return new SFNClient(clientConfig(context, regionOfArn(arn) ?? context.region));
}

/**
 * Starts an execution of the state machine; returns its ARN. With
 * `startOptions`, the input is already wrapped (`startExecutionInput`), so a
 * machine deployed before it unwrapped options is refused rather than handed
 * the envelope as its input.
 */
export async function startExecution(
  context: AwsContext,
  stateMachineArn: string,
  input: string,
  name?: string,
  startOptions = false,
): Promise<string> {
  const sfn = sfnFor(context, stateMachineArn);
  try {
    if (startOptions) {
      const { definition } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
      if (!definition?.includes(`$.${START_OPTIONS_KEY}`))
        throw new DeployError(
          "START_OPTIONS_UNSUPPORTED",
          `${stateMachineArn} was deployed by a Ferry that takes no start options (--no-cache); re-deploy the workflow`,
        );
    }
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input, ...(name ? { name } : {}) }),
    );
    return out.executionArn!;
  } finally {
    sfn.destroy();
  }
}

export interface WaitOptions {
  /** @default 3_600_000 (one hour) */
  timeoutMs?: number;
  /** @default 500 */
  pollMs?: number;
  signal?: AbortSignal;
  /**
   * Wait for an end after this many redrives (what `redriveExecution`
   * returns), so the end before the redrive does not count.
   * @default 0
   */
  minRedriveCount?: number;
}

/** Polls the execution until it leaves RUNNING, within `timeoutMs`; returns its description. */
export async function waitForExecution(
  context: AwsContext,
  executionArn: string,
  options: WaitOptions = {},
): Promise<DescribeExecutionCommandOutput> {
  const { timeoutMs = 3_600_000, pollMs = 500 } = options;
  const deadline = Date.now() + timeoutMs;
  const sfn = sfnFor(context, executionArn);
  try {
    for (;;) {
      const out = await describe(sfn, executionArn);
      if (hasEnded(out, options.minRedriveCount)) return out;
      if (Date.now() > deadline) {
        throw new DeployError(
          "TIMED_OUT",
          `execution ${executionArn} is still ${out.status} after ${Math.round(timeoutMs / 1000)} s; follow it with ferry status ${executionArn}`,
        );
      }
      if (options.signal?.aborted) throw options.signal.reason ?? new Error("cancelled");
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    sfn.destroy();
  }
}

export interface StopOptions {
  /** Recorded as the execution's error (up to 256 characters). */
  error?: string;
  /** Recorded as its cause (up to 32,768 characters). */
  cause?: string;
  /** How long to wait for the ABORTED status. @default 60_000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** How often `stopExecution` wakes the waiting tasks on an endpoint override (LocalStack). */
const LOCALSTACK_STOP_NUDGE_MS = 1000;

/**
 * Stops a running execution (StopExecution) and returns its description
 * once it has ended (ABORTED, unless it ended on its own first), within
 * `timeoutMs`. Throws `EXECUTION_NOT_FOUND` for an unknown execution and
 * `EXECUTION_ENDED` for one that already ended: Step Functions (and
 * LocalStack) would accept the call and change nothing.
 *
 * LocalStack 4.14 only marks an execution waiting in a `.waitForTaskToken`
 * task as stopped: it stays RUNNING until the task is woken, and a heartbeat
 * (the agent's next one) then fails it with `States.Timeout`. With an
 * endpoint override, an execution still running a second after the stop has
 * its waiting tasks answered with `SendTaskSuccess` (`{}`), which LocalStack
 * follows with `ExecutionAborted` without entering another state. On AWS the
 * execution is ABORTED at once and this never runs.
 */
export async function stopExecution(
  context: AwsContext,
  executionArn: string,
  options: StopOptions = {},
): Promise<DescribeExecutionCommandOutput> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const sfn = sfnFor(context, executionArn);
  try {
    const before = await describe(sfn, executionArn);
    const refusal = stopRefusal(executionArn, before);
    if (refusal) throw refusal;
    try {
      await sfn.send(
        new StopExecutionCommand({
          executionArn,
          ...(options.error === undefined ? {} : { error: options.error }),
          ...(options.cause === undefined ? {} : { cause: options.cause }),
        }),
      );
    } catch (error) {
      if ((error as Error).name === "ExecutionDoesNotExist") await describe(sfn, executionArn);
      throw error;
    }
    const stoppedAt = Date.now();
    let nudgedAt = stoppedAt;
    for (;;) {
      const out = await describe(sfn, executionArn);
      if (hasEnded(out)) return out;
      if (Date.now() - stoppedAt > timeoutMs) {
        throw new DeployError(
          "TIMED_OUT",
          `execution ${executionArn} was stopped but is still ${out.status} after ${Math.round(timeoutMs / 1000)} s; follow it with ferry status ${executionArn}`,
        );
      }
      if (options.signal?.aborted) throw options.signal.reason ?? new Error("cancelled");
      if (context.endpoint && Date.now() - nudgedAt >= LOCALSTACK_STOP_NUDGE_MS) {
        nudgedAt = Date.now();
        await wakeWaitingTasks(sfn, await fetchHistory(context, executionArn));
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    sfn.destroy();
  }
}

/** Answers every task still waiting in the history; a refused answer means the task already moved on. */
async function wakeWaitingTasks(sfn: SFNClient, events: HistoryEvent[]): Promise<void> {
  for (const taskToken of openTaskTokens(events)) {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: "{}" })).catch((error: unknown) => error);
  }
}

export interface RedriveResult {
  executionArn: string;
  redriveDate: Date;
  /** The execution's redrive count after this redrive; pass it to `waitForExecution` as `minRedriveCount`. */
  redriveCount: number;
}

/**
 * Redrives a failed, aborted or timed-out execution (RedriveExecution): it
 * restarts from the states that did not succeed, in the same execution.
 * Throws `EXECUTION_NOT_FOUND` for an unknown execution; `NOT_REDRIVABLE`
 * (still running, succeeded, past the redrive limits) or
 * `API_NOT_IMPLEMENTED` (LocalStack) with the AWS error and what to do.
 */
export async function redriveExecution(context: AwsContext, executionArn: string): Promise<RedriveResult> {
  const sfn = sfnFor(context, executionArn);
  try {
    const before = await describe(sfn, executionArn);
    try {
      const out = await sfn.send(new RedriveExecutionCommand({ executionArn }));
      return {
        executionArn,
        redriveDate: out.redriveDate ?? new Date(),
        redriveCount: (before.redriveCount ?? 0) + 1,
      };
    } catch (error) {
      throw redriveRefusal(executionArn, error, before, context.endpoint);
    }
  } finally {
    sfn.destroy();
  }
}

async function describe(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === "ExecutionDoesNotExist") {
      throw new DeployError(
        "EXECUTION_NOT_FOUND",
        `execution ${executionArn} does not exist (check the region and --endpoint-url)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The execution's whole history, oldest first (up to Step Functions' 25,000 events). */
export async function fetchHistory(context: AwsContext, executionArn: string): Promise<HistoryEvent[]> {
  const sfn = sfnFor(context, executionArn);
  const events: HistoryEvent[] = [];
  try {
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
      const out = await sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      events.push(...(out.events ?? []));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
  } finally {
    sfn.destroy();
  }
  return events;
}

export interface ExecutionStatus {
  executionArn: string;
  description: DescribeExecutionCommandOutput;
  report: ExecutionReport;
  /** Reports of child executions, by the child state's row. */
  children: ExecutionStatus[];
  /** Where the state-to-step mapping came from. */
  indexSource: "given" | "deployment" | "history";
  /**
   * Attempts the step cache answered, by step, from the workers' provenance
   * records (root executions only: child machines write under their root's).
   */
  cacheHits?: Record<string, { hits: number; origin?: string }>;
}

/**
 * Describes an execution and builds its per-step report, following child
 * executions. The state index comes from `index` when given, else from
 * what `ferry deploy` stored, else it is inferred from the history. With
 * `cacheHits`, the workers' provenance records say which steps the cache answered.
 */
export async function executionStatus(
  context: AwsContext,
  executionArn: string,
  index?: StateIndex,
  options: { depth?: number; cacheHits?: boolean } = {},
): Promise<ExecutionStatus> {
  const depth = options.depth ?? 0;
  const sfn = sfnFor(context, executionArn);
  let description: DescribeExecutionCommandOutput;
  try {
    description = await describe(sfn, executionArn);
  } finally {
    sfn.destroy();
  }
  let indexSource: ExecutionStatus["indexSource"] = index ? "given" : "history";
  let states = index;
  let stored: Awaited<ReturnType<typeof getStateIndex>>;
  if (!states) {
    stored = await getStateIndex(context, executionArn);
    if (stored) {
      states = stored.states;
      indexSource = "deployment";
    }
  }
  const report = buildExecutionReport(await fetchHistory(context, executionArn), states);
  const children: ExecutionStatus[] = [];
  if (depth < MAX_CHILD_DEPTH) {
    for (const row of report.steps) {
      for (const child of row.childExecutions)
        children.push(await executionStatus(context, child, undefined, { depth: depth + 1 }));
    }
  }
  const workflow =
    options.cacheHits && depth === 0 ? (stored?.workflow ?? rootWorkflowOf(executionArn)) : undefined;
  const cacheHits = workflow ? await readCacheHits(context, executionArn, workflow) : undefined;
  return { executionArn, description, report, children, indexSource, ...(cacheHits ? { cacheHits } : {}) };
}

/** The workflow of an execution of `<workflow>-root-<hash>`, as the stack names the root machine. */
export function rootWorkflowOf(executionArn: string): string | undefined {
  return /^(.+)-root-[0-9a-f]{8}$/.exec(executionArn.split(":")[6] ?? "")?.[1];
}

/** The workflow an execution belongs to: from the state index `ferry deploy` stored, else the root machine's name. */
export async function workflowOfExecution(
  context: AwsContext,
  executionArn: string,
): Promise<string | undefined> {
  return (await getStateIndex(context, executionArn))?.workflow ?? rootWorkflowOf(executionArn);
}

/** Hits by step; undefined when the records cannot be read (status still answers). */
async function readCacheHits(
  context: AwsContext,
  executionArn: string,
  workflow: string,
): Promise<ExecutionStatus["cacheHits"]> {
  let records: Awaited<ReturnType<typeof readExecutionProvenance>>;
  try {
    records = await readExecutionProvenance(context, executionArn, { workflow });
  } catch {
    return undefined;
  }
  const hits: NonNullable<ExecutionStatus["cacheHits"]> = {};
  for (const r of records) {
    if (r.cache.status !== "hit") continue;
    const seen = hits[r.step] ?? { hits: 0 };
    hits[r.step] = seen;
    seen.hits++;
    if (r.cache.origin) seen.origin = r.cache.origin.execution;
  }
  return hits;
}
