import { type CheckRule, error } from "./rule.ts";

/** A `foreach.items` path that reads a dependency's output must name a declared dependency. */
export const checkForeach: CheckRule = (spec) =>
  spec.steps.flatMap((step, i) => {
    const items = step.foreach?.items;
    const dep = items?.startsWith("deps.") ? items.split(".")[1]! : undefined;
    if (dep === undefined || step.depends.includes(dep)) return [];
    return [
      error(
        "INVALID_FOREACH",
        ["steps", i, "foreach", "items"],
        `"${items}" reads the output of "${dep}", which is not in depends`,
        `add "${dep}" to depends, or read from "input."`,
      ),
    ];
  });
