import type { DescribeExecutionCommandOutput, HistoryEvent } from "@aws-sdk/client-sfn";
import { DeployError } from "./deploy-error.ts";
import { TERMINAL_TASK_EVENTS } from "./execution-report.ts";

/** What these checks read of a DescribeExecution answer. */
export type ExecutionDescription = Partial<
  Pick<DescribeExecutionCommandOutput, "status" | "stopDate" | "redriveCount" | "redriveStatusReason">
>;

/** Statuses of an execution that has not ended (StopExecution applies, RedriveExecution does not). */
const ACTIVE = new Set(["RUNNING", "PENDING_REDRIVE"]);

/** True while an execution has not ended. */
export function isActive(status: string | undefined): boolean {
  return status !== undefined && ACTIVE.has(status);
}

/**
 * True once the execution has ended, and, when `minRedriveCount` is given,
 * ended after that many redrives (right after RedriveExecution, DescribeExecution
 * may still show the previous end). Pure.
 */
export function hasEnded(description: ExecutionDescription, minRedriveCount = 0): boolean {
  return !isActive(description.status) && (description.redriveCount ?? 0) >= minRedriveCount;
}

function ended(description: ExecutionDescription): string {
  return `${description.status ?? "UNKNOWN"}${description.stopDate ? ` at ${description.stopDate.toISOString()}` : ""}`;
}

/** The refusal of `ferry stop` for an execution that already ended; undefined while it runs. Pure. */
export function stopRefusal(
  executionArn: string,
  description: ExecutionDescription,
): DeployError | undefined {
  if (isActive(description.status)) return undefined;
  const next =
    description.status === "SUCCEEDED"
      ? `ferry status ${executionArn} shows its steps`
      : `ferry status ${executionArn} shows how it ended; ferry redrive ${executionArn} restarts it from the failed steps`;
  return new DeployError(
    "EXECUTION_ENDED",
    `execution ${executionArn} already ended (${ended(description)}); there is nothing to stop: ${next}`,
  );
}

/** What an AWS SDK error carries that Ferry reads. */
interface AwsErrorLike {
  name?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

function isAwsError(error: unknown): error is AwsErrorLike & Error {
  return error instanceof Error && typeof (error as AwsErrorLike).$fault === "string";
}

/** True when the endpoint does not implement the API at all (LocalStack answers HTTP 501). */
function notImplemented(error: AwsErrorLike): boolean {
  return (
    error.$metadata?.httpStatusCode === 501 ||
    error.name === "UnknownOperationException" ||
    error.name === "NotImplemented"
  );
}

/**
 * Turns the error RedriveExecution answered into a `DeployError` that names
 * the execution, the AWS error and what to do, using the execution's
 * description when there is one. Anything that is not an AWS error is
 * returned unchanged. Pure.
 */
export function redriveRefusal(
  executionArn: string,
  error: unknown,
  description?: ExecutionDescription,
  endpoint?: string,
): unknown {
  if (!isAwsError(error)) return error;
  const awsError = `${error.name}${error.$metadata?.httpStatusCode ? ` (HTTP ${error.$metadata.httpStatusCode})` : ""}: ${(error.message ?? "").replace(/\.$/, "")}`;
  const fail = (code: "NOT_REDRIVABLE" | "EXECUTION_NOT_FOUND" | "API_NOT_IMPLEMENTED", todo: string) =>
    new DeployError(code, `execution ${executionArn} was not redriven: ${awsError}; ${todo}`, {
      cause: error,
    });
  const rerun = "start a new execution instead (ferry start <spec|workflow> --input ...)";
  if (notImplemented(error)) {
    return fail(
      "API_NOT_IMPLEMENTED",
      `the endpoint${endpoint ? ` ${endpoint}` : ""} does not implement RedriveExecution (LocalStack's community edition does not); ${rerun}, or redrive on AWS`,
    );
  }
  if (error.name === "ExecutionDoesNotExist" || error.name === "InvalidArn") {
    return fail(
      "EXECUTION_NOT_FOUND",
      "check the execution ARN (ferry start prints it), the region and --endpoint-url",
    );
  }
  if (error.name === "ExecutionLimitExceeded") {
    return fail(
      "NOT_REDRIVABLE",
      "the account's limit of open executions is reached; redrive again once some have ended",
    );
  }
  const status = description?.status;
  if (isActive(status)) {
    return fail(
      "NOT_REDRIVABLE",
      `it is still ${status}; only a FAILED, ABORTED or TIMED_OUT execution can be redriven: wait for it to end (ferry status ${executionArn}) or stop it (ferry stop ${executionArn}) first`,
    );
  }
  if (status === "SUCCEEDED") {
    return fail("NOT_REDRIVABLE", `it SUCCEEDED, so there is nothing to redrive; ${rerun} to run it again`);
  }
  const reason = description?.redriveStatusReason;
  return fail(
    "NOT_REDRIVABLE",
    `${status ? `it is ${ended(description!)}` : "its status is unknown"}${reason ? ` and ${reason.replace(/\.$/, "")}` : ""}; ${rerun}`,
  );
}

/**
 * The task tokens of the tasks still waiting in an execution's history
 * (oldest first): a `TaskScheduled` no terminal task event leads back to,
 * its token read from the resolved parameters (any string, or strings, under
 * a key named like `token`: a Ferry step message's `token`, a join waiter's
 * `:token`). Pure.
 */
export function openTaskTokens(events: readonly HistoryEvent[]): string[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const closed = new Set<number>();
  for (const event of events) {
    if (!TERMINAL_TASK_EVENTS.has(event.type ?? "")) continue;
    let current: HistoryEvent | undefined = event;
    for (let hops = 0; current && hops < 100; hops++) {
      if (current.type === "TaskScheduled") {
        closed.add(current.id!);
        break;
      }
      current = current.previousEventId === undefined ? undefined : byId.get(current.previousEventId);
    }
  }
  const tokens: string[] = [];
  for (const event of events) {
    if (event.type !== "TaskScheduled" || closed.has(event.id!)) continue;
    const parameters = event.taskScheduledEventDetails?.parameters;
    if (!parameters) continue;
    try {
      collectTokens(JSON.parse(parameters), tokens);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  return [...new Set(tokens)];
}

function collectTokens(value: unknown, into: string[], underToken = false): void {
  if (typeof value === "string") {
    if (underToken) into.push(value);
    else if (value.startsWith("{")) {
      // SQS message bodies may arrive as JSON text.
      try {
        collectTokens(JSON.parse(value), into);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
      }
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectTokens(item, into, underToken);
    return;
  }
  if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      collectTokens(item, into, underToken || /^:?token$/i.test(key));
    }
  }
}
