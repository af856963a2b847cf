import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { StateIndex } from "@ferry/dsl-compiler";
import { type AwsContext, clientConfig, regionOfArn } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import { buildExecutionReport, type ExecutionReport } from "./execution-report.ts";
import { getStateIndex } from "./state-index-store.ts";

/** Step Functions returns at most 1,000 events a page; 25 pages cover the 25,000-event history limit. */
const MAX_HISTORY_PAGES = 25;
/** How deep `ferry status` follows child executions. */
const MAX_CHILD_DEPTH = 3;

function sfnFor(context: AwsContext, arn: string): SFNClient {
  return new SFNClient(clientConfig(context, regionOfArn(arn) ?? context.region));
}

/** Starts an execution of the state machine; returns its ARN. */
export async function startExecution(
  context: AwsContext,
  stateMachineArn: string,
  input: string,
  name?: string,
): Promise<string> {
  const sfn = sfnFor(context, stateMachineArn);
  try {
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
      if (out.status !== "RUNNING" && out.status !== "PENDING_REDRIVE") return out;
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
}

/**
 * Describes an execution and builds its per-step report, following child
 * executions. The state index comes from `index` when given, else from
 * what `ferry deploy` stored, else it is inferred from the history.
 */
export async function executionStatus(
  context: AwsContext,
  executionArn: string,
  index?: StateIndex,
  depth = 0,
): Promise<ExecutionStatus> {
  const sfn = sfnFor(context, executionArn);
  let description: DescribeExecutionCommandOutput;
  try {
    description = await describe(sfn, executionArn);
  } finally {
    sfn.destroy();
  }
  let indexSource: ExecutionStatus["indexSource"] = index ? "given" : "history";
  let states = index;
  if (!states) {
    const stored = await getStateIndex(context, executionArn);
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
        children.push(await executionStatus(context, child, undefined, depth + 1));
    }
  }
  return { executionArn, description, report, children, indexSource };
}
