import { randomUUID } from "node:crypto";
import { StateMachine } from "aws-local-stepfunctions";
import type { AslDefinition, AslMap, AslState, AslTask } from "../asl/asl-types.ts";
import type { CompiledStateMachine, CompiledWorkflow } from "../compiled.ts";
import type { StepMessage } from "../contract/step-message.ts";
import type { IrItemReader, IrStep } from "../ir/ir.ts";
import { LocalJoinTable } from "./join-table.ts";
import { type MapRunOptions, type MapRunSink, runMapRun } from "./map-run.ts";

/** What the local runner asks the caller to do for each step attempt. */
export interface LocalStepHandlers {
  /** A queue-backed step: run it and resolve with its output (reject to fail the attempt; the error's `name` is what Retry matches). */
  runStep(message: StepMessage): Promise<unknown>;
  /** An `http:invoke` task: resolve with `{ StatusCode, ResponseBody }` as Step Functions does. `attempt` is 1 for the first. */
  runHttpTask(
    step: string,
    parameters: HttpTaskParameters,
    attempt: number,
  ): Promise<{ StatusCode: number; ResponseBody: unknown }>;
  /** Job-file access for `foreach` over files or records (Distributed Maps); without it such a workflow fails to start. */
  distributedMap?: DistributedMapFiles;
}

/** Where a local Distributed Map reads its items and writes its results: the run's job files. */
export interface DistributedMapFiles {
  /** The items of `reader`, read lazily from `site`'s files of the execution `prefix` names. */
  readItems(reader: IrItemReader, site: string, prefix: string): AsyncIterable<unknown>;
  /** A sink for one map run's results under `step`'s `foreachResultsFolder`. */
  openResults(step: IrStep, prefix: string, mapRunId: string): Promise<MapRunSink>;
}

export interface HttpTaskParameters {
  ApiEndpoint: string;
  Method: string;
  Headers?: Record<string, string>;
  RequestBody?: unknown;
}

export interface LocalExecution {
  /** The workflow output; rejects with the execution's error (`name` = Step Functions error, `message` = cause). */
  result: Promise<unknown>;
  abort(): void;
}

/** Node timers overflow past 2^31-1 ms; longer Task timeouts are clamped (workers enforce step timeouts). */
const MAX_LOCAL_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * Runs a compiled workflow's own ASL locally with aws-local-stepfunctions,
 * dispatching every Task state by its role in the state index: steps to
 * `handlers`, joins to an in-memory join table.
 */
export function runCompiledWorkflow(
  compiled: CompiledWorkflow,
  input: unknown,
  handlers: LocalStepHandlers,
  options: { executionName?: string } = {},
): LocalExecution {
  const name = options.executionName ?? randomUUID();
  const distributed = [compiled.stateMachine, ...compiled.childStateMachines].some((m) =>
    Object.values(m.states).some((r) => r.kind === "foreach" && r.distributed),
  );
  if (distributed && !handlers.distributedMap)
    throw new Error(
      "this workflow has a foreach over files or records, and the local runner was given no job files to read them from (LocalStepHandlers.distributedMap)",
    );
  const ctx: DispatchContext = {
    steps: new Map(compiled.ir.steps.map((s) => [s.name, s])),
    handlers,
    joins: new LocalJoinTable(),
    attempts: new Map(),
    children: new Map(compiled.childStateMachines.map((c) => [c.id, c])),
    running: new Set(),
    prepared: new Map(),
    executionId: `local:${compiled.ir.name}:${name}`,
    executionName: name,
  };
  const result = startMachine(compiled.stateMachine, input, ctx).finally(() =>
    ctx.joins.releaseWaiters("the execution ended before this join's producer signalled"),
  );
  return {
    result,
    abort: () => {
      for (const abort of ctx.running) abort();
    },
  };
}

interface DispatchContext {
  steps: Map<string, IrStep>;
  handlers: LocalStepHandlers;
  joins: LocalJoinTable;
  /** Calls of each unit (a step, or one item of a `foreach` step): every call after the first is the interpreter retrying it. */
  attempts: Map<string, number>;
  children: Map<string, CompiledStateMachine>;
  /** Abort functions of the root and every running child execution. */
  running: Set<() => void>;
  /** Each machine's local definition and Task handlers, made on its first start: a child machine starts once per parent step. */
  prepared: Map<CompiledStateMachine, PreparedMachine>;
  executionId: string;
  executionName: string;
}

type TaskHandlers = Record<string, (input: never) => Promise<unknown>>;

interface PreparedMachine {
  machine: StateMachine;
  overrides: TaskHandlers;
}

function startMachine(machine: CompiledStateMachine, input: unknown, ctx: DispatchContext): Promise<unknown> {
  let prepared = ctx.prepared.get(machine);
  if (!prepared) {
    const overrides = taskOverrides(machine, ctx);
    prepared = { machine: newStateMachine(localDefinition(machine.definition, machine.states)), overrides };
    ctx.prepared.set(machine, prepared);
  }
  return runDefinition(prepared.machine, prepared.overrides, input, ctx);
}

function newStateMachine(definition: AslDefinition): StateMachine {
  // Compiled definitions are checked with asl-validator in the compiler's tests; validating again costs ~1 s per run.
  return new StateMachine(definition as never, { validationOptions: { noValidate: true } });
}

/** Runs `sm` as one execution; a StateMachine holds no per-run state, so one serves every run of its definition. */
function runDefinition(
  sm: StateMachine,
  overrides: TaskHandlers,
  input: unknown,
  ctx: DispatchContext,
): Promise<unknown> {
  const execution = sm.run(input as never, {
    overrides: { taskResourceLocalHandlers: overrides as never },
    // Nothing reads the library's event log; keeping it costs memory and time that grow with the run.
    noEventLogs: true,
    context: {
      Execution: {
        Id: ctx.executionId,
        Name: ctx.executionName,
        Input: input,
        StartTime: new Date().toISOString(),
      },
      // The library has no task tokens or retry counters: runners mint tokens and count attempts themselves.
      Task: { Token: "local" },
      State: { RetryCount: 0 },
    } as never,
  });
  const abort = () => execution.abort();
  ctx.running.add(abort);
  return execution.result.finally(() => ctx.running.delete(abort));
}

function taskOverrides(machine: CompiledStateMachine, ctx: DispatchContext): TaskHandlers {
  const overrides: TaskHandlers = {};
  for (const [stateName, role] of Object.entries(machine.states)) {
    switch (role.kind) {
      case "step":
        overrides[stateName] = async (
          params: { MessageBody?: StepMessage & LocalItem } & HttpTaskParameters & LocalItem,
        ) => {
          const { [LOCAL_ITEM_FIELD]: httpItem, ...http } = params;
          if (!params.MessageBody)
            return ctx.handlers.runHttpTask(role.step, http, nextAttempt(ctx, role.step, httpItem));
          const { [LOCAL_ITEM_FIELD]: item, ...message } = params.MessageBody;
          const attempt = nextAttempt(ctx, message.step, item);
          return ctx.handlers.runStep({ ...message, token: randomUUID(), attempt });
        };
        break;
      case "await":
        overrides[stateName] = async (params: DynamoParams) => ctx.joins.awaitDone(keyOf(params));
        break;
      case "await-read":
        overrides[stateName] = async (params: DynamoParams) => ctx.joins.read(keyOf(params));
        break;
      case "signal":
        // Locally the output arrives as a value, not a string (see `passJsonValues`).
        overrides[stateName] = async (params: DynamoParams) =>
          ctx.joins.markDone(keyOf(params), params.ExpressionAttributeValues[":output"]!.S);
        break;
      case "signal-notify":
        overrides[stateName] = async (params: { TaskToken: string; Output: unknown }) =>
          ctx.joins.sendTaskSuccess(params.TaskToken, params.Output);
        break;
      case "foreach":
        // The items' Tasks are this machine's own states: they share this table.
        if (role.distributed)
          overrides[stateName] = distributedMapOverride(machine, stateName, role.step, ctx, overrides);
        break;
      case "child":
        // As `states:startExecution.sync:2` does: run to completion, answer { Output }.
        overrides[stateName] = async (params: { Input: unknown }) => ({
          Output: await startMachine(ctx.children.get(role.machine)!, params.Input, ctx),
        });
        break;
      default:
        break;
    }
  }
  return overrides;
}

type LocalItem = { [LOCAL_ITEM_FIELD]?: number };

/** Step names are unique and a step runs once per execution, so a unit is called again only when its Retry fires. */
function nextAttempt(ctx: DispatchContext, step: string, item: number | undefined): number {
  const key = item === undefined ? step : `${step}#${item}`;
  const attempt = (ctx.attempts.get(key) ?? 0) + 1;
  ctx.attempts.set(key, attempt);
  return attempt;
}

interface DynamoParams {
  Key: { pk: { S: string } };
  ExpressionAttributeValues: Record<string, { S?: unknown }>;
}

const JSON_TO_STRING = /^States\.JsonToString\((\$[^()]*)\)$/;

/**
 * aws-local-stepfunctions 3.0 strips every backslash from the strings its
 * intrinsic functions return, so `States.JsonToString` of an output holding
 * a quote or a newline is no longer JSON and a join would never wake. The
 * join states are the only users: locally they pass the value itself, and
 * the in-memory join table keeps it as a value.
 */
function passJsonValues(template: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) => {
      if (typeof value === "string" && key.endsWith(".$")) {
        const m = JSON_TO_STRING.exec(value);
        return [key, m ? m[1] : value];
      }
      if (value && typeof value === "object" && !Array.isArray(value))
        return [key, passJsonValues(value as Record<string, unknown>)];
      return [key, value];
    }),
  );
}

function keyOf(params: DynamoParams): string {
  return params.Key.pk.S;
}

/**
 * Carries a `foreach` item's index (`$$.Map.Item.Index`) into the local copy
 * of its task's message, so identical items are told apart: the library
 * evaluates `$$.Map` correctly only in the Map's ItemSelector.
 */
const LOCAL_ITEM_FIELD = "ferryLocalItem";

/** Task parameters that carry the item index: in the message of a queue task, beside the request of an HTTP task. */
function numbered(parameters: Record<string, unknown>): Record<string, unknown> {
  const field = { [`${LOCAL_ITEM_FIELD}.$`]: `$.${LOCAL_ITEM_FIELD}` };
  return parameters.MessageBody
    ? { ...parameters, MessageBody: { ...(parameters.MessageBody as object), ...field } }
    : { ...parameters, ...field };
}

/**
 * A copy of the definition with Task timeouts the local timer can hold,
 * `foreach` items numbered, and each Distributed Map replaced by a Task
 * that {@link distributedMapOverride} runs (the library has no item reader,
 * result writer or distributed mode).
 */
function localDefinition(definition: AslDefinition, roles: CompiledStateMachine["states"]): AslDefinition {
  const fixStates = (states: Record<string, AslState>, inMap: boolean): Record<string, AslState> =>
    Object.fromEntries(
      Object.entries(states).map(([name, state]) => {
        const role = roles[name];
        if (state.Type === "Map" && role?.kind === "foreach" && role.distributed)
          return [name, distributedMapTask(state)];
        if (state.Type === "Task") {
          return [
            name,
            {
              ...state,
              ...(state.Parameters
                ? {
                    Parameters: inMap
                      ? numbered(passJsonValues(state.Parameters))
                      : passJsonValues(state.Parameters),
                  }
                : {}),
              TimeoutSeconds: Math.min(
                state.TimeoutSeconds ?? MAX_LOCAL_TIMEOUT_SECONDS,
                MAX_LOCAL_TIMEOUT_SECONDS,
              ),
            },
          ];
        }
        if (state.Type === "Parallel")
          return [
            name,
            {
              ...state,
              Branches: state.Branches.map((b) => ({ ...b, States: fixStates(b.States, inMap) })),
            },
          ];
        if (state.Type === "Map")
          return [
            name,
            {
              ...state,
              ...(state.ItemSelector
                ? {
                    ItemSelector: {
                      ...passJsonValues(state.ItemSelector),
                      [`${LOCAL_ITEM_FIELD}.$`]: "$$.Map.Item.Index",
                    },
                  }
                : {}),
              ItemProcessor: { ...state.ItemProcessor, States: fixStates(state.ItemProcessor.States, true) },
            },
          ];
        return [name, state];
      }),
    );
  return { ...definition, States: fixStates(definition.States, false) };
}

const LOCAL_DISTRIBUTED_MAP = "arn:aws:states:::ferry:localDistributedMap";

/**
 * The Map's shared item input (its ItemSelector without the per-item fields,
 * or a batched Map's BatchInput), result handling and transitions, as a Task.
 */
function distributedMapTask(map: AslMap): AslTask {
  const {
    "item.$": _item,
    "index.$": _index,
    ...shared
  } = map.ItemBatcher?.BatchInput ?? map.ItemSelector ?? {};
  return {
    Type: "Task",
    Resource: LOCAL_DISTRIBUTED_MAP,
    Parameters: passJsonValues(shared),
    // A Map state has no timeout; the library gives a Task 60 s unless told otherwise.
    TimeoutSeconds: MAX_LOCAL_TIMEOUT_SECONDS,
    ...(map.ResultSelector ? { ResultSelector: map.ResultSelector } : {}),
    ...(map.ResultPath !== undefined ? { ResultPath: map.ResultPath } : {}),
    ...(map.Catch ? { Catch: map.Catch } : {}),
    ...(map.Next ? { Next: map.Next } : { End: true as const }),
  };
}

/**
 * Runs a Distributed Map on this machine: items from the run's job files,
 * one local execution of the ItemProcessor per item (its Retry and Catch
 * apply as in a child execution), results streamed to the step's results
 * folder in Step Functions' ResultWriter format.
 */
function distributedMapOverride(
  machine: CompiledStateMachine,
  stateName: string,
  stepName: string,
  ctx: DispatchContext,
  overrides: TaskHandlers,
): (shared: never) => Promise<unknown> {
  const map = findState(machine.definition.States, stateName) as AslMap;
  const step = ctx.steps.get(stepName)!;
  const foreach = step.foreach;
  if (foreach?.mode !== "distributed") throw new Error(`state "${stateName}" is no Distributed Map`);
  const processor: AslDefinition = localDefinition(
    { StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States },
    machine.states,
  );
  // Numbered like inline items, so attempts are counted per item.
  const inner = Object.fromEntries(
    Object.entries(processor.States).map(([name, state]) => [
      name,
      state.Type === "Task" && state.Parameters
        ? { ...state, Parameters: numbered(state.Parameters) }
        : state,
    ]),
  );
  const itemMachine = newStateMachine({ ...processor, States: inner });
  return async (shared: never) => {
    const state = shared as { ferry: { prefix: string } } & Record<string, unknown>;
    const files = ctx.handlers.distributedMap!;
    const mapRunId = randomUUID();
    const sink = await files.openResults(step, state.ferry.prefix, mapRunId);
    const summary = await runMapRun({
      items: files.readItems(foreach.reader, foreach.readSite, state.ferry.prefix),
      maxConcurrency: foreach.maxConcurrency,
      toleratedFailurePercentage: foreach.toleratedFailurePercentage,
      // Batched, a child's input is `{ Items, BatchInput }` with the shared fields in BatchInput, as the ItemBatcher makes it.
      ...(foreach.batch
        ? {
            batch: {
              ...(foreach.batch.maxItems !== undefined ? { maxItems: foreach.batch.maxItems } : {}),
              ...(foreach.batch.maxBytes !== undefined ? { maxBytes: foreach.batch.maxBytes } : {}),
              batchInput: state,
            },
          }
        : {}),
      childInput: foreach.batch
        ? (batch) => batch as Record<string, unknown>
        : (item, index) => ({ ...state, item, index }),
      ...(foreach.batch ? {} : { childInputJson: itemInputJson(state) }),
      runItem: async (input, index) => {
        try {
          return await runDefinition(itemMachine, overrides, { ...input, [LOCAL_ITEM_FIELD]: index }, ctx);
        } catch (error) {
          // The library wraps the failed state's error: its cause is what Step Functions reports.
          throw ((error as { cause?: unknown }).cause ?? error) as Error;
        } finally {
          ctx.attempts.delete(`${step.name}#${index}`);
        }
      },
      sink,
      mapRunArn: `${ctx.executionId}:map-run:${mapRunId}`,
    });
    return { MapRunArn: summary.MapRunArn, ResultWriterDetails: summary.ResultWriterDetails };
  };
}

/**
 * The JSON of `{ ...shared, item, index }` from the text of `shared`, made
 * once: every item carries the same shared fields (its dependencies'
 * outputs among them), and writing them again for each item's result entry
 * was one of its largest costs.
 */
function itemInputJson(shared: Record<string, unknown>): MapRunOptions["childInputJson"] {
  // Keys `item`/`index` already in `shared` keep their place in the spread: no shortcut then.
  if (Object.hasOwn(shared, "item") || Object.hasOwn(shared, "index")) return undefined;
  const text = JSON.stringify(shared);
  const head = text === "{}" ? "{" : `${text.slice(0, -1)},`;
  return (input, item, index) => {
    const itemJson = JSON.stringify(item);
    return itemJson === undefined ? JSON.stringify(input) : `${head}"item":${itemJson},"index":${index}}`;
  };
}

function findState(states: Record<string, AslState>, name: string): AslState | undefined {
  for (const [n, s] of Object.entries(states)) {
    if (n === name) return s;
    const nested =
      s.Type === "Parallel"
        ? s.Branches.map((b) => findState(b.States, name)).find(Boolean)
        : s.Type === "Map"
          ? findState(s.ItemProcessor.States, name)
          : undefined;
    if (nested) return nested;
  }
  return undefined;
}
