import { formatPath } from "../diagnostics/diagnostic.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/** Step names are unique across steps, handlers and finally steps: each names one Task and one manifest entry. */
export const checkDuplicateSteps: CheckRule = (spec) => {
  const first = new Map<string, ReadonlyArray<string | number>>();
  return everyStep(spec).flatMap(({ step, path: at }) => {
    const before = first.get(step.name);
    if (before === undefined) {
      first.set(step.name, at);
      return [];
    }
    return [
      error(
        "DUPLICATE_STEP",
        [...at, "name"],
        `step name "${step.name}" is already used by ${formatPath(before)}`,
        "step names must be unique; rename one of them",
      ),
    ];
  });
};
