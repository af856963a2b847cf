import type { IrStep } from "../ir/ir.ts";
import type { AslState } from "./asl-types.ts";
import { failureObject } from "./failure-states.ts";
import { keyPath, type StateNamer } from "./names.ts";
import type { StateIndex } from "./state-index.ts";
import { type StepStateContext, taskFor } from "./step-state.ts";

/**
 * Wraps the workflow's body so that its `finally:` steps always run: the
 * body becomes the one branch of a Parallel whose Catch records the failure
 * as `$.failure` (`null` on success). The finally steps then run one after
 * the other, each receiving `{ input, deps: {}, failure }`; a failing one
 * does not stop the next. At the end a Choice fails the execution with the
 * body's own error (or the first finally failure), or goes on to `output`.
 */
export function finallyStates(
  body: { entry: string; states: Record<string, AslState> },
  steps: IrStep[],
  ctx: Omit<StepStateContext, "depPaths" | "mapName">,
  namer: StateNamer,
  output: string,
): { entry: string; states: Record<string, AslState>; index: StateIndex } {
  const wrap = namer.aux("workflow", "body");
  const caught = namer.aux("workflow", "body-failed");
  const verdict = namer.aux("workflow", "verdict");
  const failed = namer.aux("workflow", "failed");
  const finallyFailed = namer.aux("workflow", "finally-failed");
  const first = steps[0]!.name;
  const states: Record<string, AslState> = {
    [wrap]: {
      Type: "Parallel",
      Comment: "the workflow's steps; a failure is caught so that the finally steps run",
      Branches: [{ StartAt: body.entry, States: body.states }],
      ResultSelector: {
        "ferry.$": "$[0].ferry",
        "input.$": "$[0].input",
        "results.$": "$[0].results",
        remote: {},
        failure: null,
      },
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: caught }],
      Next: first,
    },
    [caught]: {
      Type: "Pass",
      InputPath: "$.failure",
      Parameters: failureObject("$"),
      ResultPath: "$.failure",
      Next: first,
    },
  };
  const index: StateIndex = { [wrap]: { kind: "control" }, [caught]: { kind: "control" } };
  steps.forEach((step, i) => {
    const next = steps[i + 1]?.name ?? verdict;
    states[step.name] = {
      ...taskFor(
        step,
        { ...ctx, depPaths: {}, mapName: "" },
        {
          "input.$": "$.input",
          deps: {},
          "failure.$": "$.failure",
        },
      ),
      ResultPath: keyPath("$.results", step.name),
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.finallyFailure", Next: next }],
      Next: next,
    };
    index[step.name] = { kind: "step", step: step.name };
  });
  states[verdict] = {
    Type: "Choice",
    Choices: [
      // Not IsNull rather than IsNull: false, which aws-local-stepfunctions 3.0 never matches.
      { Not: { Variable: "$.failure", IsNull: true }, Next: failed },
      { Variable: "$.finallyFailure", IsPresent: true, Next: finallyFailed },
    ],
    Default: output,
  };
  states[failed] = {
    Type: "Fail",
    Comment: "the workflow failed; its finally steps have run",
    ErrorPath: "$.failure.error",
    CausePath: "$.failure.cause",
  };
  states[finallyFailed] = {
    Type: "Fail",
    Comment: "a finally step failed",
    ErrorPath: "$.finallyFailure.Error",
    CausePath: "$.finallyFailure.Cause",
  };
  for (const s of [verdict, failed, finallyFailed]) index[s] = { kind: "control" };
  return { entry: wrap, states, index };
}
