/**
 * The workflow the split tests run on every runtime (`ferry run` and
 * LocalStack): three chains of 16 steps braided together (every fourth step
 * also waits for a step of the next chain), so the chains run as Parallel
 * branches joined across them. At `--split-limit 100` the compiler moves the
 * chains into six child machines, and the joins cross machines.
 */
import { braidDag } from "@ferry/dsl-compiler/testing";

export const SPLIT_LIMIT = 100;
export const BRAID = braidDag(3, 16, 4);

/**
 * Each step outputs `{ step, paths }`, `paths` being the sum of its
 * dependencies' (1 for a first step): how many paths reach it, so an output
 * lost or misrouted on the way shows in every step after it. With
 * `input.recordFile` it also appends `{ step, seen }` there (the `paths` of
 * each dependency it was given).
 */
const STEP_SCRIPT = `
const fs = require("node:fs");
const { input, deps } = JSON.parse(fs.readFileSync(0, "utf8"));
const step = process.env.FERRY_STEP;
const seen = Object.fromEntries(Object.entries(deps).map(([d, out]) => [d, out.paths]));
const paths = Object.values(seen).reduce((a, b) => a + b, 0) || 1;
if (input.recordFile) fs.appendFileSync(input.recordFile, JSON.stringify({ step, seen }) + "\\n");
console.log(JSON.stringify({ step, paths }));
`;

/** Step `v` of the braid. */
export const stepName = (v: number) => `s${v}`;

export function splitWorkflowSpec(name: string): string {
  return JSON.stringify({
    name,
    description: "Three braided chains of 16 steps, for running child state machines with joins across them.",
    sites: { lab: { type: "edge" } },
    // No heartbeat: under load LocalStack 4.14 loses some answers to heartbeat tasks (infra/src/deploy/README.md).
    defaults: { timeoutSeconds: 900, heartbeatSeconds: 0 },
    steps: BRAID.map((deps, v) => ({
      name: stepName(v),
      site: "lab",
      depends: deps.map(stepName),
      process: { command: ["node", "-e", STEP_SCRIPT] },
    })),
  });
}

/** `paths` of every step, as the steps compute it. */
export function expectedPaths(): Map<string, number> {
  const paths: number[] = [];
  BRAID.forEach((deps, v) => {
    paths[v] = deps.length === 0 ? 1 : deps.reduce((sum, d) => sum + paths[d]!, 0);
  });
  return new Map(paths.map((p, v) => [stepName(v), p]));
}

/** What each step must have recorded: its dependencies' `paths`. */
export function expectedRecords(): Map<string, Record<string, number>> {
  const paths = expectedPaths();
  return new Map(
    BRAID.map((deps, v) => [
      stepName(v),
      Object.fromEntries(deps.map((d) => [stepName(d), paths.get(stepName(d))!])),
    ]),
  );
}

/** The workflow's output: its sinks' outputs. */
export function expectedOutput(sinks: string[]): Record<string, { step: string; paths: number }> {
  const paths = expectedPaths();
  return Object.fromEntries(sinks.map((s) => [s, { step: s, paths: paths.get(s)! }]));
}
