import { RUNTIME_KINDS } from "../schema/spec.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

export const checkOneRuntime: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path: at }) => {
    const present = RUNTIME_KINDS.filter((kind) => step[kind] !== undefined);
    if (present.length === 1) return [];
    if (present.length === 0) {
      return [
        error(
          "NO_RUNTIME",
          [...at],
          `step "${step.name}" has nothing to run`,
          `give it exactly one of: ${RUNTIME_KINDS.join(", ")}`,
        ),
      ];
    }
    return [
      error(
        "MULTIPLE_RUNTIMES",
        [...at, present[1]!],
        `step "${step.name}" has ${present.join(" and ")}; a step runs exactly one`,
        "split it into two steps, one depending on the other",
      ),
    ];
  });
