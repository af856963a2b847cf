import { logFolder, logName, workflowInputOf } from "@ferry/dsl-compiler/contract";
import {
  type AwsContext,
  type ExecutionStatus,
  executionStatus,
  getStateIndex,
  listMachineExecutions,
  listWorkflowMachines,
  readExecutionLogs,
  readStateMachineArn,
  redriveExecution,
  type StepReport,
  type StoredStateIndex,
  stackNameFor,
  startExecution,
  stopExecution,
  type TaskAttempt,
} from "@ferry/infra/cloud";
import { LayoutCache } from "../graph-layout.ts";
import type {
  AttemptView,
  GraphLayout,
  LogFile,
  RunSummary,
  RunView,
  StepView,
  ViewRunStatus,
  ViewStepStatus,
} from "../run-view.ts";
import { matches, type RunFilter, type RunSource } from "./run-source.ts";

const POLL_MS = 2000;
/** Inputs and outputs kept per step (a foreach step has one per item), as for local runs. */
const VALUES_KEPT = 5;
const STATE: Record<StepReport["state"], ViewStepStatus> = {
  "not started": "PENDING",
  running: "RUNNING",
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  "timed out": "FAILED",
};

/**
 * Executions of deployed workflows: ListExecutions of every Ferry root
 * state machine, and each execution's history (GetExecutionHistory) mapped
 * to steps through the state index `ferry deploy` stored, as `ferry status` does.
 */
export class CloudExecutionSource implements RunSource {
  readonly kind = "cloud" as const;
  private readonly indexes = new Map<string, Promise<StoredStateIndex | undefined>>();
  private readonly layouts = new LayoutCache();

  constructor(private readonly context: AwsContext) {}

  owns(id: string): boolean {
    return /^arn:aws[\w-]*:states:[^:]*:\d*:execution:[^:]+:[^:]+$/.test(id);
  }

  async list(filter: RunFilter): Promise<RunSummary[]> {
    const machines = (await listWorkflowMachines(this.context)).filter(
      (m) => !filter.workflow || m.workflow === filter.workflow,
    );
    const perMachine = await Promise.all(
      machines.map(async (m) => {
        const [index, executions] = await Promise.all([
          this.index(`${m.stateMachineArn.replace(":stateMachine:", ":execution:")}:-`),
          listMachineExecutions(this.context, m.stateMachineArn, 50),
        ]);
        return executions.map((e): RunSummary => {
          const started = e.startDate ?? new Date(0);
          return {
            id: e.executionArn!,
            source: "cloud",
            workflow: index?.workflow ?? m.workflow,
            status: (e.status ?? "RUNNING") as ViewRunStatus,
            startedAt: started.toISOString(),
            ...(e.stopDate
              ? { finishedAt: e.stopDate.toISOString(), durationMs: e.stopDate.getTime() - started.getTime() }
              : {}),
            stepCount: index?.steps?.length ?? 0,
          };
        });
      }),
    );
    const runs = perMachine.flat();
    return runs.filter((r) => matches(r, filter));
  }

  async get(id: string): Promise<RunView | undefined> {
    if (!this.owns(id)) return undefined;
    const [status, index] = await Promise.all([executionStatus(this.context, id), this.index(id)]);
    return viewOfExecution(status, index);
  }

  async graph(id: string): Promise<GraphLayout | undefined> {
    const view = await this.get(id);
    if (!view) return undefined;
    const steps = view.steps.map((s) => ({ name: s.name, depends: s.depends }));
    return this.layouts.layout(steps);
  }

  async logs(id: string, step: string): Promise<LogFile[] | undefined> {
    const view = await this.get(id);
    if (!view?.steps.some((s) => s.name === step)) return undefined;
    const logs = await readExecutionLogs(this.context, id, { workflow: view.workflow, step });
    return logs.map((l) => ({
      name: `${l.site}/${logName(l).slice(logFolder().length)}`,
      text: l.text,
      truncatedBytes: Math.max(0, l.bytes - Buffer.byteLength(l.text)),
    }));
  }

  async follow(
    id: string,
    on: { onSteps(steps: StepView[]): void; onEnd(run: RunView): void },
    signal: AbortSignal,
  ): Promise<void> {
    const seen = new Map<string, string>();
    while (!signal.aborted) {
      const view = await this.get(id);
      if (!view) return;
      const changed = view.steps.filter((s) => seen.get(s.name) !== JSON.stringify(s));
      for (const s of changed) seen.set(s.name, JSON.stringify(s));
      if (changed.length > 0) on.onSteps(changed);
      if (view.status !== "RUNNING") {
        on.onEnd(view);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** `ferry stop`'s StopExecution. */
  async cancel(id: string): Promise<string> {
    const description = await stopExecution(this.context, id, { cause: "stopped from ferry ui" });
    return `execution ${description.status ?? "UNKNOWN"}`;
  }

  /** `ferry redrive`'s RedriveExecution: the same execution restarts from the states that did not succeed. */
  async redrive(id: string): Promise<string> {
    const redriven = await redriveExecution(this.context, id);
    return `execution redriven (redrive ${redriven.redriveCount})`;
  }

  /** `ferry start`'s StartExecution of the spec's deployed workflow (stack ferry-<workflow>). */
  async start(spec: { ir: { name: string } }, input: unknown): Promise<string> {
    const stateMachineArn = await readStateMachineArn(stackNameFor(spec.ir.name), this.context);
    return startExecution(this.context, stateMachineArn, JSON.stringify(input));
  }

  private index(executionArn: string): Promise<StoredStateIndex | undefined> {
    const machine = executionArn.split(":")[6] ?? "";
    let index = this.indexes.get(machine);
    if (!index) {
      index = getStateIndex(this.context, executionArn);
      this.indexes.set(machine, index);
    }
    return index;
  }
}

export function viewOfExecution(status: ExecutionStatus, index: StoredStateIndex | undefined): RunView {
  const d = status.description;
  const rows = new Map(status.report.steps.map((r) => [r.step, r]));
  const known = index?.steps ?? [];
  const names = [
    ...known.map((s) => s.name),
    ...[...rows.keys()].filter((n) => !known.some((s) => s.name === n)),
  ];
  const runStatus = (d.status ?? "RUNNING") as ViewRunStatus;
  const steps: StepView[] = names.map((name) => {
    const row = rows.get(name);
    const spec = known.find((s) => s.name === name);
    const state: ViewStepStatus = row ? STATE[row.state] : runStatus === "RUNNING" ? "PENDING" : "NOT_RUN";
    return {
      name,
      ...(spec ? { site: spec.site } : {}),
      depends: spec?.depends ?? [],
      status: state,
      attempts: row?.attempts ?? 0,
      ...(row?.startedAt ? { startedAt: row.startedAt.toISOString() } : {}),
      ...(row?.endedAt ? { finishedAt: row.endedAt.toISOString() } : {}),
      ...(row?.error ? { error: row.error, cause: row.cause ?? "" } : {}),
      ...(row && row.items > 1 ? { items: row.items } : {}),
      ...valuesOf(row?.attemptList ?? []),
      attemptList: (row?.attemptList ?? []).map(
        (a): AttemptView => ({
          attempt: a.attempt,
          ...(a.scheduledAt ? { startedAt: a.scheduledAt.toISOString() } : {}),
          ...(a.endedAt ? { finishedAt: a.endedAt.toISOString() } : {}),
          outcome: a.outcome,
          ...(a.error !== undefined ? { error: a.error, cause: a.cause ?? "" } : {}),
        }),
      ),
    };
  });
  const started = d.startDate ?? new Date(0);
  const failed = steps.find((s) => s.status === "FAILED");
  return {
    id: status.executionArn,
    source: "cloud",
    workflow:
      index?.workflow ??
      d.stateMachineArn
        ?.split(":")
        .at(-1)
        ?.replace(/-root-[0-9a-f]{8}$/, "") ??
      "?",
    status: runStatus,
    startedAt: started.toISOString(),
    ...(d.stopDate
      ? { finishedAt: d.stopDate.toISOString(), durationMs: d.stopDate.getTime() - started.getTime() }
      : {}),
    stepCount: steps.length,
    ...(failed ? { failedStep: failed.name } : {}),
    // ferry start --no-cache wraps the input: show what the steps saw.
    ...(d.input ? { input: workflowInputOf(parseJson(d.input)) } : {}),
    ...(d.output ? { output: parseJson(d.output) } : {}),
    ...(status.report.error
      ? {
          error: {
            ...(failed ? { step: failed.name } : {}),
            error: status.report.error,
            cause: status.report.cause ?? "",
          },
        }
      : {}),
    steps,
    actions: {
      cancel: runStatus === "RUNNING",
      resume: false,
      redrive: runStatus === "FAILED" || runStatus === "ABORTED" || runStatus === "TIMED_OUT",
    },
  };
}

/** A step's input and output as the local view shows them: one value, or the first few (retries repeat theirs). */
function valuesOf(attempts: TaskAttempt[]): { input?: unknown; output?: unknown } {
  const distinct = (values: unknown[]) => {
    const seen = new Set<string>();
    const kept: unknown[] = [];
    for (const v of values) {
      const key = JSON.stringify(v);
      if (seen.has(key)) continue;
      seen.add(key);
      if (kept.length < VALUES_KEPT) kept.push(v);
    }
    return kept;
  };
  const inputs = distinct(attempts.filter((a) => "input" in a).map((a) => a.input));
  const outputs = distinct(attempts.filter((a) => "output" in a).map((a) => a.output));
  return {
    ...(inputs.length > 0 ? { input: inputs.length === 1 ? inputs[0] : inputs } : {}),
    ...(outputs.length > 0 ? { output: outputs.length === 1 ? outputs[0] : outputs } : {}),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // Step Functions passes non-JSON strings through as they are
  }
}
