/**
 * Load on LocalStack: 100 concurrent executions of a 5-step chain, served
 * by two real agents, all SUCCEED and leave nothing on any queue or
 * dead-letter queue. Throughput is printed, never asserted (see
 * bench/localstack.ts for the figures).
 */
import { executionStatus } from "@ferry/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack } from "./support/env.ts";
import { eventually } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deadLetterDepths,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  queueDepth,
  runSuffix,
  startAgent,
  testAwsContext,
  writeSpec,
} from "./support/localstack-ferry.ts";
import { chainSpec, executionsWithStatus, startMany, waitUntilIdle } from "./support/localstack-load.ts";

const EXECUTIONS = 100;
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(dir, "load.json", chainSpec(`load-${suffix}`, 5));
let deployed: Deployed;
const agents: FerryProcess[] = [];

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  for (let i = 0; i < 2; i++)
    agents.push(await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: 8 }));
}, 180_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop("SIGTERM")));
  await destroySpec(dir, spec);
}, 180_000);

describe("load on LocalStack", () => {
  it(`runs ${EXECUTIONS} concurrent executions of a 5-step chain on two agents, all SUCCEEDED, zero DLQ messages`, async () => {
    const { region, stateMachineArn } = deployed.deployment;
    const startedAt = Date.now();
    const arns = await startMany(stateMachineArn, EXECUTIONS, { region, parallel: 10 });
    expect(arns).toHaveLength(EXECUTIONS);
    const { counts, idleAt } = await waitUntilIdle(stateMachineArn, {
      region,
      timeoutMs: 300_000,
      pollMs: 2000,
    });
    const minutes = (idleAt - startedAt) / 60_000;
    console.log(
      `load: ${EXECUTIONS} executions × 5 steps in ${(minutes * 60).toFixed(1)} s = ${(EXECUTIONS / minutes).toFixed(0)} executions/min, ${((EXECUTIONS * 5) / (minutes * 60)).toFixed(1)} steps/s`,
    );
    const failed = await executionsWithStatus(stateMachineArn, "FAILED", region);
    const why = failed.length
      ? JSON.stringify((await executionStatus(testAwsContext(region), failed[0]!)).report, null, 1)
      : "";
    expect(counts, why).toEqual({ SUCCEEDED: EXECUTIONS, FAILED: 0, TIMED_OUT: 0, ABORTED: 0 });
    expect(await deadLetterDepths(deployed.deployment)).toEqual({ "site-lab": 0 });
    await eventually(
      async () => ((await queueDepth(deployed.deployment.queues["site-lab"]!.url)) === 0 ? true : undefined),
      "the site queue to be empty",
      15_000,
    );
    // Both agents took part.
    for (const agent of agents) expect(agent.stdout).toMatch(/step attempt succeeded/);
  });
});
