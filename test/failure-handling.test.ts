/**
 * Language 1.1 failure handling, the same workflow on two runtimes: `ferry
 * run` (aws-local-stepfunctions) and LocalStack's Step Functions with a real
 * agent. `onFailure: continue` hands dependants `{ error, cause }` (also
 * across a Parallel join), a handler's output replaces the failed step's,
 * `onFailure: fail` fails the run without leaving a join waiter hanging, and
 * the `finally` step runs either way, told of the failure.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack } from "./support/env.ts";
import { type FailureInput, failureWorkflowSpec } from "./support/failure-workflow.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";

interface Outcome {
  succeeded: boolean;
  output?: Record<string, { step: string; deps: Record<string, unknown>; failure?: unknown }>;
  /** What the finally step was told, one entry per run of it. */
  finallySaw: Array<{ failure: { error?: string; cause?: string } | null }>;
  log: string;
}

type Runner = (input: FailureInput) => Promise<Outcome>;

function finallyLines(file: string): Outcome["finallySaw"] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

let calls = 0;
function finallyFileIn(dir: string): string {
  calls += 1;
  return join(dir, `finally-${calls}.jsonl`);
}

/** The expectations both runtimes must meet. */
function failureCases(name: string, run: () => Runner) {
  describe(name, () => {
    it("continues past failed steps: dependants see { error, cause }, across a join too", async () => {
      const out = await run()({ fail: ["a1"], sleep: { b1: 1 } });
      expect(out.succeeded, out.log).toBe(true);
      for (const dependant of ["c1", "d1"] as const) {
        expect(out.output![dependant]!.deps.a1).toEqual({
          error: "Ferry.ExitCode",
          cause: expect.stringContaining("a1 broke on purpose"),
        });
      }
      expect(out.output!.d1!.deps.b1).toEqual({ step: "b1", deps: {} });
      expect(out.finallySaw).toEqual([{ failure: null }]);
    });

    it("runs a handler step on failure; its output replaces the step's", async () => {
      const out = await run()({ fail: ["c1"] });
      expect(out.succeeded, out.log).toBe(true);
      expect(out.output!.c1).toEqual({
        step: "fallback",
        deps: { a1: { step: "a1", deps: {} } },
        failure: { error: "Ferry.ExitCode", cause: expect.stringContaining("c1 broke on purpose") },
      });
    });

    it("fails the run on onFailure: fail, releases the join waiting on it, and still runs finally", async () => {
      // d2 waits across branches for a2; b2 finishes first so the waiter is parked when a2 fails.
      const out = await run()({ fail: ["a2"], sleep: { a2: 2 } });
      expect(out.succeeded, out.log).toBe(false);
      expect(out.log).toMatch(/a2/);
      expect(out.finallySaw).toEqual([
        { failure: { error: "Ferry.ExitCode", cause: expect.stringContaining("a2 broke on purpose") } },
      ]);
    });
  });
}

failureCases("failure handling in ferry run", () => {
  const project = tempProject();
  const spec = writeSpec(project, "failures.json", failureWorkflowSpec("failures"));
  return async (input) => {
    const finallyFile = finallyFileIn(project);
    const result = await ferry(
      ["run", spec, "--json", "--input", JSON.stringify({ ...input, finallyFile })],
      {
        cwd: project,
      },
    );
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    return {
      succeeded: result.code === 0 && record.status === "SUCCEEDED",
      output: record.output,
      finallySaw: finallyLines(finallyFile),
      log: result.stderr,
    };
  };
});

const suffix = runSuffix();
const project = tempProject();
const spec = writeSpec(project, "failures.json", failureWorkflowSpec(`failures-${suffix}`));
let deployed: Deployed;
let agent: FerryProcess;

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(project, spec);
  agent = await startAgent(project, deployed.agentConfigs.lab!, { runtime: "process", concurrency: 4 });
}, 300_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  await destroySpec(project, spec);
}, 300_000);

failureCases("failure handling on LocalStack", () => async (input) => {
  const finallyFile = finallyFileIn(project);
  const result = await startAndWait(project, spec, { input: { ...input, finallyFile }, timeoutSeconds: 120 });
  const succeeded = result.code === 0 && /SUCCEEDED/.test(result.stderr);
  return {
    succeeded,
    output: succeeded ? JSON.parse(result.stdout.trim().split("\n").at(-1)!) : undefined,
    finallySaw: finallyLines(finallyFile),
    log: `${result.stdout}\n${result.stderr}`,
  };
});
