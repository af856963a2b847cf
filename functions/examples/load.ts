import type { StepHandler } from "@ferry/functions";

/**
 * Example "load" step: totals the `rows` its dependencies report and says
 * where they came from. A dependency's output may itself carry `deps` (a
 * container that echoes its input does), so totals are found through them.
 *
 * Input `{ input, deps: { transform: { rows: 3 } } }` → output `{ rows: 3, from: ["transform"] }`.
 */
export const handler: StepHandler = (input) => {
  const deps = input.deps;
  return { rows: rowsIn(deps), from: Object.keys(deps).sort() };
};

function rowsIn(outputs: Record<string, unknown>, depth = 0): number {
  let total = 0;
  for (const output of Object.values(outputs)) {
    if (!isObject(output)) continue;
    if (typeof output.rows === "number") total += output.rows;
    else if (isObject(output.deps) && depth < 16) total += rowsIn(output.deps, depth + 1);
  }
  return total;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
