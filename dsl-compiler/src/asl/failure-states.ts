import type { IrStep } from "../ir/ir.ts";
import type { AslMap, AslState, AslTask } from "./asl-types.ts";
import { keyPath, type StateNamer } from "./names.ts";
import type { StateIndex } from "./state-index.ts";
import { link, type StepStateContext, taskFor } from "./step-state.ts";

type StepOut = { entry: string; states: Record<string, AslState>; index: StateIndex };

/** `{ Error, Cause }` of a Catch, at `from`, as the `{ error, cause }` Ferry hands to steps. */
export function failureObject(from: string): Record<string, string> {
  return { "error.$": `${from}.Error`, "cause.$": `${from}.Cause` };
}

/**
 * Adds a step's `onFailure` to its compiled states: a Catch on its Task (on
 * the item Task inside a `foreach` Map, so one failed item does not fail the
 * others) leading to either a Pass that stores `{ error, cause }` as the
 * step's output (`continue`) or the handler's Task, whose output replaces
 * the step's. Both rejoin the step's `next`, so dependants — and the signal
 * that wakes cross-branch waiters — run as they would after a success:
 * no waiter is left hanging. Retries run before the Catch.
 */
export function withFailureHandling(
  step: IrStep,
  out: StepOut,
  ctx: StepStateContext,
  namer: StateNamer,
  handlers: ReadonlyMap<string, IrStep>,
  next: string | undefined,
): StepOut {
  const onFailure = step.onFailure;
  if (!onFailure) return out;
  const map = step.foreach ? (out.states[out.entry] as AslMap) : undefined;
  const scope = map ? map.ItemProcessor.States : out.states;
  const task = scope[step.name] as AslTask;
  // Outside a Map the Catch writes straight into the step's result; an item's state keeps its input for the handler.
  const caught = map ? "$.failure" : keyPath("$.results", step.name);
  const after = map ? ({ End: true } as const) : link(next);
  const index: StateIndex = { ...out.index };
  let target: string;
  if (onFailure.kind === "continue") {
    target = namer.aux(step.name, "failed");
    scope[target] = {
      Type: "Pass",
      Comment: "onFailure: continue — the failure becomes the step's output",
      InputPath: caught,
      Parameters: failureObject("$"),
      ...(map ? {} : { ResultPath: caught }),
      ...after,
    };
    index[target] = { kind: "control" };
  } else {
    const handler = handlers.get(onFailure.step)!;
    target = namer.aux(step.name, "on-failure", handler.name);
    const deps = map
      ? { "deps.$": "$.deps", "item.$": "$.item" }
      : { deps: Object.fromEntries(step.depends.map((d) => [`${d}.$`, ctx.depPaths[d]!])) };
    scope[target] = {
      ...taskFor(handler, ctx, { "input.$": "$.input", ...deps, failure: failureObject(caught) }),
      Comment: `onFailure: ${handler.name} handles ${step.name}; its output replaces the step's`,
      ...(map ? {} : { ResultPath: caught }),
      ...after,
    };
    index[target] = { kind: "step", step: handler.name, handles: step.name };
  }
  task.Catch = [{ ErrorEquals: ["States.ALL"], ResultPath: caught, Next: target }];
  return { ...out, states: out.states, index };
}
