// Ferry on LocalStack: the per-step overhead of the round trip
// Step Functions → SQS → agent → SendTaskSuccess → next state (p50/p95, a
// chain of no-op process steps run one execution at a time), and executions
// per minute when many run at once on two agents; and the cost of the token
// check the agent makes before each step (one heartbeat, or on LocalStack a
// read of the execution's history), on live task tokens.
// Needs LocalStack (bash test/env/ensure-localstack.sh).
// Run: npx tsx bench/localstack.ts [--steps 5] [--sequential 20] [--concurrent 100] [--concurrency 8]
import { parseArgs } from "node:util";
import { SFNClient } from "@aws-sdk/client-sfn";
import { parseStepMessage, type StepMessage } from "@ferry/dsl-compiler/contract";
import { checkToken, checkTokenByHeartbeat } from "@ferry/edge-agent";
import { LocalStackCompletion, SfnCompletion } from "@ferry/edge-agent/aws";
import { executionStatus } from "@ferry/infra";
import { awsClientConfig, requireLocalStack } from "../test/support/env.ts";
import {
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  queueDepth,
  runSuffix,
  startAgent,
  takeBodies,
  testAwsContext,
  writeSpec,
} from "../test/support/localstack-ferry.ts";
import {
  chainSpec,
  executionsWithStatus,
  percentile,
  type StepTiming,
  startMany,
  stepTimings,
  waitUntilIdle,
} from "../test/support/localstack-load.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "5" },
    sequential: { type: "string", default: "20" },
    concurrent: { type: "string", default: "100" },
    concurrency: { type: "string", default: "8" },
  },
});
const steps = Number(values.steps);
const sequential = Number(values.sequential);
const concurrent = Number(values.concurrent);

await requireLocalStack();
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(dir, "bench.json", chainSpec(`bench-${suffix}`, steps));
const deployStarted = Date.now();
const deployed = await deploySpec(dir, spec);
console.log(
  `deployed ${deployed.workflow} (${steps} no-op steps) in ${((Date.now() - deployStarted) / 1000).toFixed(1)} s`,
);
const { region, stateMachineArn } = deployed.deployment;
const agents: FerryProcess[] = [];
const ms = (v: number) => `${v.toFixed(0)} ms`;

/**
 * The token check on live tokens: executions are started while no agent
 * runs, their first step's messages taken off the queue, and each token
 * checked the two ways the agent can (then answered, as an agent would).
 */
async function tokenCheckCost(count: number): Promise<{ heartbeat: number[]; history: number[] }> {
  const queue = deployed.deployment.queues["site-lab"]!.url;
  const arns = await startMany(stateMachineArn, count, { region });
  for (let i = 0; i < 300 && (await queueDepth(queue, region)) < count; i++)
    await new Promise((r) => setTimeout(r, 100));
  const messages: StepMessage[] = [];
  for (const body of await takeBodies(queue, region)) {
    const parsed = parseStepMessage(body);
    if (parsed.ok) messages.push(parsed.message);
  }
  const sfn = new SFNClient({ ...awsClientConfig(), region });
  const heartbeat: number[] = [];
  const history: number[] = [];
  const byHeartbeat = new SfnCompletion(sfn);
  const byHistory = new LocalStackCompletion(sfn);
  for (const message of messages) {
    let t0 = performance.now();
    // The answer does not matter here (LocalStack may call a live token invalid): the round trip does.
    await checkTokenByHeartbeat(byHeartbeat, message.token);
    heartbeat.push(performance.now() - t0);
    t0 = performance.now();
    const seen = await checkToken(byHistory, message);
    history.push(performance.now() - t0);
    if (seen.kind !== "live") throw new Error(`history check of a live token said ${seen.kind}`);
  }
  // Answered, not stopped (LocalStack leaves a stopped task-token execution RUNNING): the agents run the rest.
  for (const message of messages) await byHeartbeat.success(message.token, {});
  if (messages.length !== arns.length)
    throw new Error(`took ${messages.length} messages for ${arns.length} executions`);
  sfn.destroy();
  return { heartbeat, history };
}

try {
  const checks = await tokenCheckCost(sequential);
  for (let i = 0; i < 2; i++) {
    agents.push(
      await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: Number(values.concurrency) }),
    );
  }

  // One execution at a time: each step's cycle is pure orchestration overhead.
  const cycles: number[] = [];
  const roundTrips: number[] = [];
  const transitions: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < sequential + 2; i++) {
    const [arn] = await startMany(stateMachineArn, 1, { region });
    await waitUntilIdle(stateMachineArn, { region, timeoutMs: 120_000, pollMs: 50 });
    if (i < 2) continue; // warm-up: agents load lazily on their first steps
    const timings: StepTiming[] = await stepTimings(arn!, region);
    if (timings.length !== steps)
      throw new Error(`${arn}: expected ${steps} steps, history shows ${timings.length}`);
    for (let s = 0; s < timings.length; s++) {
      const t = timings[s]!;
      roundTrips.push(t.succeededMs - t.scheduledMs);
      const next = timings[s + 1];
      if (next) {
        cycles.push(next.scheduledMs - t.scheduledMs);
        transitions.push(next.scheduledMs - t.succeededMs);
      }
    }
    totals.push(timings.at(-1)!.succeededMs - timings[0]!.scheduledMs);
  }
  console.log(
    `\nper-step overhead, ${sequential} sequential executions × ${steps} no-op steps (LocalStack history timestamps):`,
  );
  const row = (label: string, xs: number[]) =>
    console.log(
      `  ${label.padEnd(58)} p50 ${ms(percentile(xs, 50)).padStart(7)}  p95 ${ms(percentile(xs, 95)).padStart(7)}  (n=${xs.length})`,
    );
  row("step cycle: TaskScheduled → next step's TaskScheduled", cycles);
  row("  round trip: SQS → agent → process → SendTaskSuccess", roundTrips);
  row("  transition: TaskSucceeded → next TaskScheduled", transitions);
  row(`whole chain of ${steps} steps`, totals);
  console.log(
    `\ntoken check before each step (${checks.heartbeat.length} live tokens; included in the round trip above):`,
  );
  row("  one SendTaskHeartbeat (the check on AWS)", checks.heartbeat);
  row("  history read (the check on LocalStack)", checks.history);
  console.log(
    `  share of the round trip p50: heartbeat ${((percentile(checks.heartbeat, 50) / percentile(roundTrips, 50)) * 100).toFixed(0)}%, history ${((percentile(checks.history, 50) / percentile(roundTrips, 50)) * 100).toFixed(0)}%`,
  );

  const loadStarted = Date.now();
  await startMany(stateMachineArn, concurrent, { region, parallel: 10 });
  const started = Date.now();
  const { counts, idleAt } = await waitUntilIdle(stateMachineArn, { region, timeoutMs: 600_000 });
  const minutes = (idleAt - loadStarted) / 60_000;
  console.log(
    `\nload: ${concurrent} concurrent executions × ${steps} steps, two agents × ${values.concurrency} slots:`,
  );
  console.log(
    `  started all in ${((started - loadStarted) / 1000).toFixed(1)} s, all ended after ${(minutes * 60).toFixed(1)} s`,
  );
  console.log(
    `  ${(concurrent / minutes).toFixed(1)} executions/min, ${((concurrent * steps) / (minutes * 60)).toFixed(1)} steps/s`,
  );
  console.log(`  final status of every execution so far: ${JSON.stringify(counts).replace(/"/g, "")}`);
  for (const arn of (await executionsWithStatus(stateMachineArn, "FAILED", region)).slice(0, 3)) {
    const { report } = await executionStatus(testAwsContext(region), arn);
    const failed = report.steps.filter((s) => s.state !== "succeeded");
    console.log(`  failed ${arn.split(":").at(-1)}: ${report.error ?? ""} ${JSON.stringify(failed)}`);
  }
} finally {
  await Promise.all(agents.map((a) => a.stop("SIGTERM")));
  await destroySpec(dir, spec);
}
