// A workflow too large for one state machine, on LocalStack: `--chains`
// parallel chains of no-op process steps (`true`), `--steps` in all (at least
// 1,300), which the compiler splits into child machines at its default
// limits. It is deployed with `ferry deploy`, run by two agents (process
// runtime), and timed from StartExecution to the end of the root execution;
// the baseline is the same workflow's `ferry run` makespan, measured first
// in the same run. Bounded: at most 5,000 steps, and after `--timeout-minutes`
// it reports how far the execution got, stops it and cleans up.
// Needs LocalStack (bash test/env/ensure-localstack.sh).
// Run: npx tsx bench/localstack-large.ts [--steps 1300] [--chains 4] [--concurrency 4] [--timeout-minutes 40]
import { parseArgs } from "node:util";
import { compileSpec } from "@ferry/dsl-compiler";
import {
  type ExecutionStatus,
  executionStatus,
  startExecution,
  stopExecution,
  waitForExecution,
} from "@ferry/infra";
import { requireLocalStack } from "../test/support/env.ts";
import { ferry } from "../test/support/ferry-cli.ts";
import {
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  runSuffix,
  startAgent,
  testAwsContext,
  writeSpec,
} from "../test/support/localstack-ferry.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "1300" },
    chains: { type: "string", default: "4" },
    concurrency: { type: "string", default: "4" },
    "timeout-minutes": { type: "string", default: "40" },
  },
});
const MAX_STEPS = 5_000;
const steps = Number(values.steps);
const chains = Number(values.chains);
const timeoutMinutes = Number(values["timeout-minutes"]);
if (!Number.isInteger(steps) || steps < 1_300 || steps > MAX_STEPS)
  throw new Error(`--steps must be a whole number from 1300 to ${MAX_STEPS}, got ${values.steps}`);
if (!Number.isInteger(chains) || chains < 1 || chains > 40)
  throw new Error(`--chains must be a whole number from 1 to 40, got ${values.chains}`);
if (!(timeoutMinutes > 0))
  throw new Error(`--timeout-minutes must be positive, got ${values["timeout-minutes"]}`);

const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const name = `large-${suffix}`;
const text = JSON.stringify({
  name,
  description: `${steps} no-op process steps in ${chains} parallel chains, beyond one state machine's limits.`,
  sites: { lab: { type: "edge" } },
  // No heartbeat: under load LocalStack 4.14 loses some answers to heartbeat tasks (infra/src/deploy/README.md).
  defaults: { timeoutSeconds: 3600, heartbeatSeconds: 0 },
  steps: Array.from({ length: steps }, (_, v) => {
    const chain = v % chains;
    return {
      name: `c${chain}-${Math.floor(v / chains)}`,
      site: "lab",
      ...(v >= chains ? { depends: [`c${chain}-${Math.floor(v / chains) - 1}`] } : {}),
      process: { command: ["true"] },
    };
  }),
});
const { compiled, diagnostics } = compileSpec(text);
if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
const children = compiled.childStateMachines.length;
if (children === 0)
  throw new Error(
    `${steps} steps in ${chains} chains fit one state machine: raise --steps to measure a split workflow`,
  );
const spec = writeSpec(dir, "large.json", text);
console.log(
  `${name}: ${steps} no-op steps in ${chains} chains of ~${Math.ceil(steps / chains)}, compiled at the default limits into a root and ${children} child machines`,
);

// Baseline first, with LocalStack idle on our side: the same workflow on the embedded runtime.
const local = await ferry(["run", spec, "--json"], { cwd: dir });
const localRecord = JSON.parse(local.stdout.trim().split("\n").at(-1) ?? "{}") as {
  status?: string;
  durationMs?: number;
};
if (local.code !== 0 || localRecord.status !== "SUCCEEDED")
  throw new Error(`ferry run ended ${localRecord.status ?? local.code}:\n${local.stderr.slice(-2000)}`);
const localSeconds = localRecord.durationMs! / 1000;

await requireLocalStack();
const context = testAwsContext();
const agents: FerryProcess[] = [];
let executionArn: string | undefined;
let ended = false;
const deployStarted = Date.now();
const deployed = await deploySpec(dir, spec);
try {
  console.log(`deployed in ${((Date.now() - deployStarted) / 1000).toFixed(1)} s`);
  for (let i = 0; i < 2; i++) {
    agents.push(
      await startAgent(dir, deployed.agentConfigs.lab!, {
        runtime: "process",
        concurrency: Number(values.concurrency),
      }),
    );
  }
  const started = Date.now();
  executionArn = await startExecution(context, deployed.deployment.stateMachineArn, "{}");
  let described: Awaited<ReturnType<typeof waitForExecution>> | undefined;
  try {
    described = await waitForExecution(context, executionArn, {
      timeoutMs: timeoutMinutes * 60_000,
      pollMs: 2_000,
    });
    ended = true;
  } catch (error) {
    console.log(`\n${(error as Error).message}`);
  }
  const wallSeconds = (Date.now() - started) / 1000;
  const status = await executionStatus(context, executionArn);
  const succeeded = succeededSteps(status);
  const d = described ?? status.description;
  const sfnSeconds =
    d.stopDate && d.startDate ? (d.stopDate.getTime() - d.startDate.getTime()) / 1000 : wallSeconds;
  console.log(
    `\nLocalStack, two agents × ${values.concurrency} slots (process runtime): ${ended ? `${d.status} after ${sfnSeconds.toFixed(1)} s (execution start → stop; ${wallSeconds.toFixed(1)} s from the StartExecution call)` : `still ${d.status} at the ${timeoutMinutes}-minute timeout`}`,
  );
  console.log(
    `  ${succeeded} of ${steps} steps succeeded, ${(succeeded / sfnSeconds).toFixed(1)} steps/s; ${status.children.length} child executions: ${JSON.stringify(countBy(status.children.map((c) => c.description.status ?? "?"))).replace(/"/g, "")}`,
  );
  console.log(
    `  baseline, ferry run of the same workflow: ${localSeconds.toFixed(1)} s, ${(steps / localSeconds).toFixed(1)} steps/s${ended ? `; LocalStack / ferry run = ${(sfnSeconds / localSeconds).toFixed(1)}×` : ""}`,
  );
  if (!ended) await stopAll(status);
} finally {
  await Promise.all(agents.map((a) => a.stop("SIGTERM")));
  const destroyed = await destroySpec(dir, spec);
  if (destroyed.code !== 0)
    console.log(`ferry destroy exited ${destroyed.code}: ${destroyed.stderr.slice(-500)}`);
}

/** Steps that succeeded in the execution and its children (step rows, not join or child-run states). */
function succeededSteps(status: ExecutionStatus): number {
  const own = status.report.steps.filter((r) => r.state === "succeeded" && !r.step.includes(" (")).length;
  return own + status.children.reduce((sum, c) => sum + succeededSteps(c), 0);
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** After the timeout: stop the running child executions, then the root, so nothing keeps LocalStack busy. */
async function stopAll(status: ExecutionStatus): Promise<void> {
  const running = [...status.children, status].filter((s) => s.description.status === "RUNNING");
  for (const s of running) {
    const stopped = await stopExecution(context, s.executionArn, { cause: "bench timeout" }).catch(
      (error: Error) => ({ status: error.message }),
    );
    console.log(`  stopped ${s.executionArn.split(":").slice(-2).join(":")}: ${stopped.status}`);
  }
}
