import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from "@aws-sdk/client-sfn";
import type { StepMessage } from "@ferry/dsl-compiler/contract";
import type { Completion, TokenCheck } from "../ports/completion.ts";
import { checkTokenByHeartbeat } from "../token-check.ts";
import { SfnCompletion } from "./sfn-completion.ts";

/** How far a token is looked for: executions (the root and its child state machines) and history pages of each. */
export interface HistoryCheckLimits {
  executions: number;
  pagesPerExecution: number;
}

const DEFAULT_LIMITS: HistoryCheckLimits = { executions: 16, pagesPerExecution: 10 };

/** The event a closed execution's history ends with, and the status it means. */
const CLOSED: Record<string, string> = {
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionAborted: "ABORTED",
  ExecutionTimedOut: "TIMED_OUT",
};

/** What a `TaskScheduled` event sent: the parts of the step message the check compares. */
interface SentMessage {
  token?: unknown;
  workflow?: unknown;
  step?: unknown;
}

/**
 * A {@link Completion} for LocalStack 4.14, whose `SendTaskHeartbeat` cannot
 * check a token: it answers `InvalidToken` for a real task without
 * `HeartbeatSeconds`, for one whose heartbeat timer is not armed yet (just
 * after its message was sent) and for any task of a closed execution, and a
 * retry's first heartbeat makes the retry read the previous attempt's answer
 * (see infra/src/deploy/README.md). Answers and heartbeats go to Step
 * Functions as with {@link SfnCompletion}; the check before a step runs reads
 * the execution's history instead (one read, newest events first), which
 * changes nothing: the message's execution must be running and one of its
 * `TaskScheduled` events (or one of its child state machines') must have
 * sent this very token for this workflow and step. The agent uses it only with an endpoint override; where
 * that endpoint refuses history reads (a private AWS endpoint without
 * `states:GetExecutionHistory`), the check falls back to the heartbeat.
 */
export class LocalStackCompletion implements Completion {
  private readonly answers: SfnCompletion;

  constructor(
    private readonly client: SFNClient,
    private readonly limits: HistoryCheckLimits = DEFAULT_LIMITS,
  ) {
    this.answers = new SfnCompletion(client);
  }

  success(token: string, output: unknown): Promise<void> {
    return this.answers.success(token, output);
  }

  failure(token: string, error: string, cause: string): Promise<void> {
    return this.answers.failure(token, error, cause);
  }

  heartbeat(token: string): Promise<void> {
    return this.answers.heartbeat(token);
  }

  async checkToken(message: StepMessage): Promise<TokenCheck> {
    try {
      return await this.findToken(message);
    } catch (error) {
      if ((error as { name?: string }).name === "AccessDeniedException")
        return checkTokenByHeartbeat(this.answers, message.token);
      return { kind: "unknown", error };
    }
  }

  private async findToken(message: StepMessage): Promise<TokenCheck> {
    const refused = (why: string): TokenCheck => ({
      kind: "refused",
      reason: `the task token was refused before the step ran: ${why}`,
    });
    const gone = (what: string, status: string): TokenCheck => ({
      kind: "gone",
      reason: `the task's ${what} is ${status}: a late delivery, dropped before the step ran`,
    });
    const queue = [message.execution];
    const seen = new Set<string>();
    while (queue.length > 0 && seen.size < this.limits.executions) {
      const executionArn = queue.shift()!;
      if (seen.has(executionArn)) continue;
      seen.add(executionArn);
      const isRoot = executionArn === message.execution;
      let closed: string | undefined;
      let newest = true;
      try {
        for await (const event of this.history(executionArn)) {
          if (newest) {
            // Newest first: a closed execution's history ends with how it closed.
            closed = CLOSED[event.type ?? ""];
            newest = false;
            if (closed && isRoot) return gone("execution", closed);
          }
          const sent = sentMessageOf(event);
          if (sent?.token === message.token) {
            if (sent.workflow !== message.workflow || sent.step !== message.step)
              return refused(
                `Step Functions issued it for step "${String(sent.step)}" of workflow "${String(sent.workflow)}", not for this message's`,
              );
            return closed ? gone("child execution", closed) : { kind: "live" };
          }
          const child = childExecutionOf(event);
          if (child && !seen.has(child)) queue.push(child);
          // An item of a running Distributed Map of this step: its child executions are too many to read one by one.
          if (!closed && mapRunLabelOf(event) === message.step.slice(0, MAP_RUN_LABEL_MAX))
            return { kind: "live" };
        }
      } catch (error) {
        const name = (error as { name?: string }).name ?? "";
        if (name !== "ExecutionDoesNotExist" && name !== "InvalidArn") throw error;
        if (isRoot) return refused(`execution ${message.execution} does not exist`);
      }
    }
    return refused(`execution ${message.execution} never sent it (InvalidToken)`);
  }

  /** Newest events first: the attempt waiting now was scheduled last. */
  private async *history(executionArn: string): AsyncGenerator<HistoryEvent> {
    let nextToken: string | undefined;
    for (let page = 0; page < this.limits.pagesPerExecution; page++) {
      const out = await this.client.send(
        new GetExecutionHistoryCommand({
          executionArn,
          reverseOrder: true,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      yield* out.events ?? [];
      nextToken = out.nextToken;
      if (!nextToken) return;
    }
  }
}

/** The step message a `TaskScheduled` event sent to a queue, if it is one. */
function sentMessageOf(event: HistoryEvent): SentMessage | undefined {
  if (event.type !== "TaskScheduled") return undefined;
  const parameters = parseJson(event.taskScheduledEventDetails?.parameters);
  const body = (parameters as { MessageBody?: unknown } | undefined)?.MessageBody;
  const message = typeof body === "string" ? parseJson(body) : body;
  return message !== null && typeof message === "object" ? (message as SentMessage) : undefined;
}

/** Map run labels are the step name, cut at 40 characters (the compiler's `Label`). */
const MAP_RUN_LABEL_MAX = 40;

/**
 * The label of the map run a `MapRunStarted` event started
 * (`arn:…:mapRun:<machine>/<label>:<id>`). Its items' tokens are accepted
 * while the execution runs: finding one would mean reading every child
 * execution's history, and Step Functions still refuses an answer with a
 * token it never issued.
 */
function mapRunLabelOf(event: HistoryEvent): string | undefined {
  if (event.type !== "MapRunStarted") return undefined;
  const arn = event.mapRunStartedEventDetails?.mapRunArn ?? "";
  return /:mapRun:[^/]+\/([^:]+):[^:]+$/.exec(arn)?.[1];
}

/** The child execution a `states:startExecution` task started, if the event says so. */
function childExecutionOf(event: HistoryEvent): string | undefined {
  const details = event.taskSubmittedEventDetails ?? event.taskSucceededEventDetails;
  if (details?.resourceType !== "states") return undefined;
  const arn = (parseJson(details.output) as { ExecutionArn?: unknown } | undefined)?.ExecutionArn;
  return typeof arn === "string" ? arn : undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a truncated parameter string): it names no token.
    return undefined;
  }
}
