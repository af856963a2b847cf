import { DEFAULT_LIMITS, STEP_EVENTS, splitLimitProblem } from "@ferry/dsl-compiler";
import { UsageError } from "../command.ts";

/** `--split-limit`, shared by the commands that compile a workflow's state machines. */
export const SPLIT_LIMIT_FLAG = { "split-limit": { type: "string" } } as const;

export const SPLIT_LIMIT_USAGE = `  --split-limit N       split the workflow into child state machines once one machine's
                        executions would record more than about N history events (a step
                        records ${STEP_EVENTS}; default ${DEFAULT_LIMITS.maxEvents}, about ${DEFAULT_LIMITS.maxEvents / STEP_EVENTS} steps); only lowers it`;

/** The compile options of a `--split-limit` value; a nonsense value is a usage error naming the flag. */
export function splitLimitOption(value: string | undefined): { splitLimit?: number } {
  if (value === undefined) return {};
  const limit = /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  const problem = Number.isNaN(limit)
    ? `must be a whole number of history events, got "${value}"`
    : splitLimitProblem(limit);
  if (problem) throw new UsageError(`--split-limit ${problem}`);
  return { splitLimit: limit };
}
