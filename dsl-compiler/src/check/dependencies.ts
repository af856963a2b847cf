import { didYouMean } from "../diagnostics/did-you-mean.ts";
import { type CheckRule, error } from "./rule.ts";

export const checkDependencies: CheckRule = (spec) => {
  const names = new Set(spec.steps.map((s) => s.name));
  return spec.steps.flatMap((step, i) => {
    const seen = new Set<string>();
    return step.depends.flatMap((dep, j) => {
      const path = ["steps", i, "depends", j];
      if (dep === step.name)
        return [
          error(
            "SELF_DEPENDENCY",
            path,
            `step "${step.name}" depends on itself`,
            "remove it from its own depends list",
          ),
        ];
      if (seen.has(dep))
        return [error("DUPLICATE_DEPENDENCY", path, `"${dep}" is listed twice`, "list each dependency once")];
      seen.add(dep);
      if (!names.has(dep)) {
        return [
          error(
            "UNKNOWN_DEPENDENCY",
            path,
            `unknown step "${dep}"`,
            didYouMean(dep, names) ?? `known steps: ${[...names].slice(0, 10).join(", ")}`,
          ),
        ];
      }
      return [];
    });
  });
};
