import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { awsNameKey } from "../names/aws-names.ts";
import { type CheckRule, error } from "./rule.ts";

/**
 * Site names, and step names, stay distinct once sanitised for AWS
 * (`lab-1` and `lab_1` both become `Lab1`; `f-x` and `F-x` both `FX`):
 * queue outputs, policies and logical ids are derived from them, so a
 * collision would otherwise crash the stack build at `compile`.
 */
export const checkAwsNameCollisions: CheckRule = (spec) => [
  ...collisions(
    Object.keys(spec.sites).map((name) => ({ name, path: ["sites", name] })),
    "site",
  ),
  ...collisions(
    spec.steps.map((step, i) => ({ name: step.name, path: ["steps", i, "name"] })),
    "step",
  ),
];

function collisions(
  names: Array<{ name: string; path: Array<string | number> }>,
  kind: "site" | "step",
): Diagnostic[] {
  const first = new Map<string, string>();
  return names.flatMap(({ name, path }) => {
    const key = awsNameKey(name);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, name);
      return [];
    }
    // Exact duplicates are DUPLICATE_STEP's (or YAML's) to report.
    if (earlier === name) return [];
    return [
      error(
        "AWS_NAME_COLLISION",
        path,
        `${kind} "${name}" and ${kind} "${earlier}" become the same AWS name once '-'/'_' are dropped and case is ignored`,
        `rename one of them so they differ in more than separators and case (e.g. "${name}2")`,
      ),
    ];
  });
}
