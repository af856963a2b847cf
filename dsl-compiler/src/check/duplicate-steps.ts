import { type CheckRule, error } from "./rule.ts";

export const checkDuplicateSteps: CheckRule = (spec) => {
  const firstIndex = new Map<string, number>();
  return spec.steps.flatMap((step, i) => {
    const first = firstIndex.get(step.name);
    if (first === undefined) {
      firstIndex.set(step.name, i);
      return [];
    }
    return [
      error(
        "DUPLICATE_STEP",
        ["steps", i, "name"],
        `step name "${step.name}" is already used by steps[${first}]`,
        "step names must be unique; rename one of them",
      ),
    ];
  });
};
