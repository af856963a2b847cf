/**
 * The workflow the failure-handling tests run on every runtime (`ferry run`
 * and LocalStack): two N-shaped DAGs, so each has a join across Parallel
 * branches, one continuing on failure (with a handler for one step), one
 * failing the run; and a finally step. The input chooses which steps fail.
 */

/**
 * Each step reads its input on stdin: it sleeps `input.sleep[<step>]`
 * seconds, then fails (exit 3, a message on stderr) when `input.fail`
 * names it, else prints `{ step, deps, failure }`. The finally step also
 * appends its input to `input.finallyFile`.
 */
const STEP_SCRIPT = `
const fs = require("node:fs");
const { input, deps, failure } = JSON.parse(fs.readFileSync(0, "utf8"));
const step = process.env.FERRY_STEP;
setTimeout(() => {
  if (input.finallyFile && step === "cleanup") fs.appendFileSync(input.finallyFile, JSON.stringify({ failure }) + "\\n");
  if ((input.fail ?? []).includes(step)) { console.error(step + " broke on purpose"); process.exit(3); }
  console.log(JSON.stringify({ step, deps, ...(failure === undefined ? {} : { failure }) }));
}, 1000 * ((input.sleep ?? {})[step] ?? 0));
`;

export interface FailureInput {
  fail?: string[];
  sleep?: Record<string, number>;
  finallyFile?: string;
}

export function failureWorkflowSpec(name: string): string {
  const step = (stepName: string, extra: Record<string, unknown> = {}) => ({
    name: stepName,
    site: "lab",
    process: { command: ["node", "-e", STEP_SCRIPT] },
    ...extra,
  });
  return JSON.stringify({
    version: "1.1",
    name,
    description: "Failure handling across branches, with a handler and a finally step.",
    sites: { lab: { type: "edge" } },
    // Long timeouts: a waiter left hanging would show as a test that never ends, not as a timeout.
    defaults: { timeoutSeconds: 3000, heartbeatSeconds: 20, onFailure: "continue" },
    steps: [
      step("a1"),
      step("b1"),
      step("c1", { depends: ["a1"], onFailure: "fallback" }),
      step("d1", { depends: ["a1", "b1"] }),
      step("a2", { onFailure: "fail" }),
      step("b2", { onFailure: "fail" }),
      step("c2", { depends: ["a2"], onFailure: "fail" }),
      step("d2", { depends: ["a2", "b2"], onFailure: "fail" }),
    ],
    handlers: [step("fallback")],
    finally: [step("cleanup")],
  });
}

/** The `{ error, cause }` a step failed with, as dependants see it (the cause holds its stderr). */
export function failureOf(output: unknown): { error: string; cause: string } {
  return output as { error: string; cause: string };
}
