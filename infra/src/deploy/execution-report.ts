import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { StateIndex, StateRole } from "@ferry/dsl-compiler";

/** Where one step stands in an execution. */
export type StepState = "not started" | "running" | "succeeded" | "failed" | "timed out";

/** One task Step Functions scheduled for a step: a retry, or one foreach item's attempt. */
export interface TaskAttempt {
  /** Ferry's attempt number from the step message (1 for the first try); else the order scheduled. */
  attempt: number;
  scheduledAt?: Date;
  endedAt?: Date;
  outcome: "running" | "succeeded" | "failed" | "timed out";
  /** The step message's `input` (workflow input, dependencies' outputs, foreach item), when the task sent one. */
  input?: unknown;
  /** What the worker answered with SendTaskSuccess. */
  output?: unknown;
  error?: string;
  cause?: string;
}

/** Attempts kept per row, newest kept: a 10,000-item foreach would otherwise hold every item's input. */
export const MAX_ATTEMPT_DETAILS = 50;

/** One row of `ferry status`: a step (all its attempts and foreach items) or a failed helper state. */
export interface StepReport {
  /** Step name; helper states (joins, children) show as `<state> (<role>)`. */
  step: string;
  state: StepState;
  /** SQS messages sent for it (every retry sends one; every foreach item too). */
  attempts: number;
  /** foreach items started (1 for plain steps). */
  items: number;
  startedAt?: Date;
  endedAt?: Date;
  /** From the first attempt's start to the last attempt's end (or now, while running). */
  durationMs?: number;
  /** Of the last failed attempt. */
  error?: string;
  cause?: string;
  /** Child executions this state started (`states:startExecution.sync:2`). */
  childExecutions: string[];
  /** Each task's input, output, error and cause, oldest first; at most {@link MAX_ATTEMPT_DETAILS}. */
  attemptList?: TaskAttempt[];
}

export interface ExecutionReport {
  steps: StepReport[];
  /** The execution's own error and cause, when it failed. */
  error?: string;
  cause?: string;
}

/** History events that end a task: its step ran to an answer, a failure or a timeout. */
export const TERMINAL_TASK_EVENTS: ReadonlySet<string> = new Set([
  "TaskSucceeded",
  "TaskFailed",
  "TaskTimedOut",
  "TaskStartFailed",
  "TaskSubmitFailed",
]);

/**
 * Builds the per-step report of an execution from its history (oldest
 * first). States map to steps through the compiled state index when given;
 * otherwise a state whose task sends a Ferry step message counts as that
 * step. Pure: no I/O.
 */
export function buildExecutionReport(
  events: readonly HistoryEvent[],
  index?: StateIndex,
  now: Date = new Date(),
): ExecutionReport {
  const byId = new Map(events.map((e) => [e.id!, e]));
  const owner = new Map<number, string>();
  const stateOf = (event: HistoryEvent): string | undefined => {
    const chain: number[] = [];
    let current: HistoryEvent | undefined = event;
    let name: string | undefined;
    for (let hops = 0; current && hops < 10_000; hops++) {
      const known = owner.get(current.id!);
      if (known !== undefined) {
        name = known;
        break;
      }
      if (current.type?.endsWith("StateEntered")) {
        name = current.stateEnteredEventDetails?.name;
        break;
      }
      chain.push(current.id!);
      current = current.previousEventId ? byId.get(current.previousEventId) : undefined;
    }
    if (name !== undefined) for (const id of chain) owner.set(id, name);
    return name;
  };

  const rows = new Map<string, StepReport & { role: StateRole }>();
  const rowFor = (state: string, role: StateRole): StepReport & { role: StateRole } => {
    const key = role.kind === "step" || role.kind === "foreach" ? role.step : state;
    let row = rows.get(key);
    if (!row) {
      row = {
        step: role.kind === "step" || role.kind === "foreach" ? role.step : `${state} (${role.kind})`,
        state: "not started",
        attempts: 0,
        items: 0,
        childExecutions: [],
        role,
      };
      rows.set(key, row);
    }
    return row;
  };
  const inferred = new Map<string, StateRole>();
  const roleOf = (state: string, scheduled?: HistoryEvent): StateRole => {
    const known = index?.[state] ?? inferred.get(state);
    if (known) return known;
    const role = inferRole(scheduled);
    if (role) inferred.set(state, role);
    return role ?? { kind: "control" };
  };
  const entered = new Map<string, number>();
  const attemptBy = new Map<number, TaskAttempt>();
  const attemptFor = (event: HistoryEvent, row: StepReport): TaskAttempt | undefined => {
    let current: HistoryEvent | undefined = event;
    for (let hops = 0; current && hops < 16; hops++) {
      const found = attemptBy.get(current.id!);
      if (found) return found;
      current = current.previousEventId ? byId.get(current.previousEventId) : undefined;
    }
    return row.attemptList?.findLast((a) => a.outcome === "running");
  };

  for (const event of events) {
    if (event.type === "TaskStateEntered") {
      const name = event.stateEnteredEventDetails?.name ?? "";
      entered.set(name, (entered.get(name) ?? 0) + 1);
      continue;
    }
    if (!event.type?.startsWith("Task") || event.type.endsWith("StateExited")) continue;
    const state = stateOf(event);
    if (state === undefined) continue;
    const role = roleOf(state, event.type === "TaskScheduled" ? event : undefined);
    if (role.kind === "control" && index) continue;
    const row = rowFor(state, role);
    if (event.type === "TaskScheduled") {
      if (row.attempts === 0) row.items = entered.get(state) ?? 1;
      else row.items = Math.max(row.items, entered.get(state) ?? 1);
      row.attempts += 1;
      const message = stepMessageOf(event);
      const attempt: TaskAttempt = {
        attempt: message?.attempt ?? row.attempts,
        ...(event.timestamp ? { scheduledAt: event.timestamp } : {}),
        outcome: "running",
        ...(message && "input" in message ? { input: message.input } : {}),
      };
      attemptBy.set(event.id!, attempt);
      row.attemptList ??= [];
      row.attemptList.push(attempt);
      if (row.attemptList.length > MAX_ATTEMPT_DETAILS) row.attemptList.shift();
      row.startedAt ??= event.timestamp;
      row.state = "running";
      row.endedAt = undefined;
    } else if (TERMINAL_TASK_EVENTS.has(event.type)) {
      row.endedAt = event.timestamp;
      const attempt = attemptFor(event, row);
      if (attempt && event.timestamp) attempt.endedAt = event.timestamp;
      if (event.type === "TaskSucceeded") {
        row.state = "succeeded";
        const output = event.taskSucceededEventDetails?.output;
        if (attempt) {
          attempt.outcome = "succeeded";
          if (output !== undefined) attempt.output = parseJsonText(output);
        }
        const child = output ? childArn(output) : undefined;
        if (child && !row.childExecutions.includes(child)) row.childExecutions.push(child);
      } else {
        const details =
          event.taskFailedEventDetails ??
          event.taskTimedOutEventDetails ??
          event.taskStartFailedEventDetails ??
          event.taskSubmitFailedEventDetails;
        row.state = event.type === "TaskTimedOut" ? "timed out" : "failed";
        row.error = details?.error;
        row.cause = details?.cause;
        if (attempt) {
          attempt.outcome = row.state;
          if (details?.error !== undefined) attempt.error = details.error;
          if (details?.cause !== undefined) attempt.cause = details.cause;
        }
      }
    } else if (event.type === "TaskSubmitted") {
      const output = event.taskSubmittedEventDetails?.output;
      const child = output ? childArn(output) : undefined;
      if (child && !row.childExecutions.includes(child)) row.childExecutions.push(child);
    }
  }

  if (index) {
    for (const [state, role] of Object.entries(index)) if (role.kind === "step") rowFor(state, role);
  }
  const execution = events.find((e) => e.type?.startsWith("Execution") && e.type !== "ExecutionStarted");
  const executionOver = Boolean(execution);
  const steps = [...rows.values()]
    // Helper states (joins, signals) are shown only when they failed: that is when they matter.
    .filter(
      (r) =>
        r.role.kind === "step" ||
        r.role.kind === "foreach" ||
        r.role.kind === "child" ||
        r.state === "failed" ||
        r.state === "timed out",
    )
    .map(({ role: _role, ...row }) => {
      if (row.items === 0 && row.attempts > 0) row.items = 1;
      const end = row.endedAt ?? (row.state === "running" && !executionOver ? now : undefined);
      if (row.startedAt && end) row.durationMs = end.getTime() - row.startedAt.getTime();
      return row;
    })
    .sort(
      (a, b) =>
        (a.startedAt?.getTime() ?? Number.MAX_SAFE_INTEGER) -
        (b.startedAt?.getTime() ?? Number.MAX_SAFE_INTEGER),
    );
  const failed =
    execution?.executionFailedEventDetails ??
    execution?.executionTimedOutEventDetails ??
    execution?.executionAbortedEventDetails;
  return {
    steps,
    ...(failed?.error ? { error: failed.error } : {}),
    ...(failed?.cause ? { cause: failed.cause } : {}),
  };
}

/**
 * The Ferry step message a TaskScheduled event sent (its `MessageBody`), or
 * undefined for another task. Untrusted history text: anything unexpected is no message.
 */
function stepMessageOf(scheduled: HistoryEvent): { attempt?: number; input?: unknown } | undefined {
  const parameters = scheduled.taskScheduledEventDetails?.parameters;
  if (scheduled.taskScheduledEventDetails?.resourceType !== "sqs" || !parameters) return undefined;
  const params = parseJsonText(parameters) as { MessageBody?: unknown } | undefined;
  const body =
    typeof params?.MessageBody === "string" ? parseJsonText(params.MessageBody) : params?.MessageBody;
  if (typeof body !== "object" || body === null) return undefined;
  const { attempt, input } = body as { attempt?: unknown; input?: unknown };
  return {
    ...(typeof attempt === "number" ? { attempt } : {}),
    ...(input !== undefined ? { input } : {}),
  };
}

/** JSON text as a value; text that is not JSON stays text (Step Functions passes strings through). */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return text;
    throw error;
  }
}

/** Without an index: a task sending a Ferry step message is that step; a `.sync:2` start is a child. */
function inferRole(scheduled?: HistoryEvent): StateRole | undefined {
  const details = scheduled?.taskScheduledEventDetails;
  if (!details) return undefined;
  if (details.resourceType === "states" && details.resource?.startsWith("startExecution")) {
    return { kind: "child", machine: "" };
  }
  if (details.resourceType !== "sqs" || !details.parameters) return undefined;
  try {
    const params = JSON.parse(details.parameters) as { MessageBody?: unknown };
    const body = typeof params.MessageBody === "string" ? JSON.parse(params.MessageBody) : params.MessageBody;
    const step = (body as { step?: unknown } | undefined)?.step;
    return typeof step === "string" ? { kind: "step", step } : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function childArn(output: string): string | undefined {
  try {
    const arn = (JSON.parse(output) as { ExecutionArn?: unknown }).ExecutionArn;
    return typeof arn === "string" ? arn : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
