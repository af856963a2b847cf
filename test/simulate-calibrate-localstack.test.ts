/**
 * `ferry simulate --calibrate <execution-arn>` on LocalStack: a small
 * layered workflow deployed and run with one real agent, then calibrated
 * from that execution's history and provenance records. The fitted terms
 * must be present and positive, and the calibrated prediction of the same
 * configuration must be near what the execution took (a generous bound:
 * this checks the calibration's plumbing, bench/simulate-heldout-localstack.ts
 * measures its accuracy on a configuration that was not run).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack } from "./support/env.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";
import { layeredSleepSpec, localstackTopology, simulateCalibrated } from "./support/simulate-localstack.ts";

const SLOTS = 2;
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(dir, "layers.json", layeredSleepSpec(`simcal-${suffix}`, 3, 2, 0.2));
const topology = writeSpec(dir, "topology.yaml", localstackTopology(1, SLOTS));
let deployed: Deployed;
let agent: FerryProcess | undefined;

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  agent = await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: SLOTS });
}, 300_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  await destroySpec(dir, spec);
}, 300_000);

const ms = (text: string, term: RegExp): number => {
  const row = text.split("\n").find((l) => term.test(l));
  expect(row, `a row matching ${term} in\n${text}`).toBeDefined();
  return Number(/([\d.]+) ms/.exec(row!)![1]);
};

describe("ferry simulate --calibrate <execution-arn>", () => {
  it("fits the transition, queue + agent terms and step durations from the execution, and predicts it", async () => {
    const run = await startAndWait(dir, spec, { timeoutSeconds: 600 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = await simulateCalibrated(dir, spec, topology, run.executionArn, ["--explain"]);

    expect(out).toMatch(/runtime model +localstack/);
    expect(out).toMatch(/calibration +6 step durations from arn:aws:states:/);
    const transition = ms(out, /^\s+state transition .*fitted from arn:/);
    const queue = ms(out, /^\s+queue \+ agent .*fitted from arn:/);
    expect(transition).toBeGreaterThan(0);
    expect(queue).toBeGreaterThan(0);
    expect(out).toMatch(/state transition .*samples: median [\d.]+ ms, mean [\d.]+ ms, p95 [\d.]+ ms, n 6/);
    expect(out).toMatch(/makespan +p50 [\d.]+ s, p95 [\d.]+ s/);

    const took = /that run took ([\d.]+) s \(prediction p50 off by ([\d.]+)%\)/.exec(out);
    expect(took, out).not.toBeNull();
    console.log(
      `calibrated on its own execution: measured ${took![1]} s, prediction off by ${took![2]}%; transition ${transition} ms, queue + agent ${queue} ms`,
    );
    expect(Number(took![2])).toBeLessThan(35);
  });
});
