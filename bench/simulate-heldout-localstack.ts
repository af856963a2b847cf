// Simulator accuracy out of sample on LocalStack: a layered workflow of
// short sleep steps on one edge site is deployed, run once with ONE agent
// of --concurrency k slots, and calibrated from that execution
// (`ferry simulate --calibrate <execution-arn>`: its history and the
// agent's provenance records). The simulator then predicts TWO agents
// (2k slots), which are started and run the workflow again: the table shows
// predicted p50/p95, measured and the error, with the calibrated
// prediction of the one-agent run itself as the in-sample baseline, and
// the load average. --repeat pairs are run (a fresh calibrating run each
// time); each pair and the medians are printed. The stacks are destroyed at
// the end.
//
// LocalStack's own pace (its state transition) follows the machine's load,
// which moves between the calibrating run and the checked one. So a short
// probe execution (a chain of --probe-steps steps of a second workflow, one
// step at a time, so its pace does not depend on the agents) runs right
// before each of the two: the held-out prediction takes the calibrated
// transition scaled by probe-before-check / probe-before-calibration. The
// prediction never reads the checked run; its own transition mean is
// printed only as a diagnostic, with the prediction redone at that pace.
// Needs LocalStack (bash test/env/ensure-localstack.sh).
// Run: npx tsx bench/simulate-heldout-localstack.ts [--layers 6] [--width 6] [--sleep 0.2]
//   [--concurrency 2] [--repeat 3] [--probe-steps 6]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { requireLocalStack } from "../test/support/env.ts";
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
} from "../test/support/localstack-ferry.ts";
import {
  layeredSleepSpec,
  localstackTopology,
  simulateCalibrated,
} from "../test/support/simulate-localstack.ts";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "6" },
    width: { type: "string", default: "6" },
    sleep: { type: "string", default: "0.2" },
    concurrency: { type: "string", default: "2" },
    repeat: { type: "string", default: "3" },
    "probe-steps": { type: "string", default: "6" },
  },
});
const layers = wholeNumber("--layers", values.layers!, 1, 40);
const width = wholeNumber("--width", values.width!, 1, 40);
const k = wholeNumber("--concurrency", values.concurrency!, 1, 32);
const repeat = wholeNumber("--repeat", values.repeat!, 1, 9);
const probeSteps = wholeNumber("--probe-steps", values["probe-steps"]!, 2, 40);
const sleep = Number(values.sleep);
if (!Number.isFinite(sleep) || sleep < 0 || sleep > 60)
  throw new Error(`--sleep must be a number of seconds from 0 to 60, got "${values.sleep}"`);

await requireLocalStack();
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(dir, "layers.json", layeredSleepSpec(`simls-${suffix}`, layers, width, sleep));
const probeSpec = writeSpec(dir, "probe.json", layeredSleepSpec(`simpr-${suffix}`, probeSteps, 1, 0));
const one = writeSpec(dir, "one-agent.yaml", localstackTopology(1, k));
const two = writeSpec(dir, "two-agents.yaml", localstackTopology(2, k));
const probeTopology = writeSpec(dir, "probe-agent.yaml", localstackTopology(1, 1));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

interface Pair {
  inSample: { p50: number; p95: number; measured: number };
  /** Calibrated transition, as fitted. */
  unpaced: { p50: number; p95: number };
  /** Calibrated transition scaled by the probes' ratio: the prediction. */
  paced: { p50: number; p95: number };
  measured: number;
  transitionOne: number;
  transitionTwo: number;
  probeBefore: number;
  probeAfter: number;
  /** Diagnostic: the prediction at the checked run's own transition. */
  atOwnPace: number;
  loadOne: string;
  loadTwo: string;
  arns: [string, string];
}

const agents: FerryProcess[] = [];
const deployedSpecs: string[] = [];
const pairs: Pair[] = [];
try {
  const deployed = await deploySpec(dir, spec);
  deployedSpecs.push(spec);
  const probe = await deploySpec(dir, probeSpec);
  deployedSpecs.push(probeSpec);
  console.log(
    `deployed ${deployed.workflow}: ${layers * width} steps (${layers} layers × ${width}), sleep ${sleep} s; probe ${probe.workflow}: a chain of ${probeSteps} no-op steps`,
  );
  agents.push(await startAgent(dir, probe.agentConfigs.lab!, { concurrency: 1 }));
  agents.push(await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: k }));
  for (let i = 0; i < repeat; i++) {
    pairs.push(await measurePair(deployed, probe));
    printPair(i + 1, pairs.at(-1)!);
  }
  printSummary();
} finally {
  await Promise.all(agents.map((a) => a.stop("SIGTERM")));
  for (const s of deployedSpecs) await destroySpec(dir, s);
}

/** One agent calibrates, two agents are predicted and run; probes give LocalStack's pace before each. */
async function measurePair(deployed: Deployed, probe: Deployed): Promise<Pair> {
  const probeBefore = await probeTransition();
  const calibrating = await startAndWait(dir, spec, { timeoutSeconds: 1800 });
  if (calibrating.code !== 0) throw new Error(`the one-agent run failed\n${calibrating.stderr}`);
  const loadOne = load();
  const arn = calibrating.executionArn;
  const second = await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: k });
  agents.push(second);
  try {
    const probeAfter = await probeTransition();
    const transitionOne = await transitionMean(spec, two, arn);
    const inSample = await predict(one, arn);
    const unpaced = await predict(two, arn);
    const paced = await predict(pacedTopology("paced", (transitionOne * probeAfter) / probeBefore), arn);
    const checking = await startAndWait(dir, spec, { timeoutSeconds: 1800 });
    if (checking.code !== 0) throw new Error(`the two-agent run failed\n${checking.stderr}`);
    const loadTwo = load();
    const measured = (await predict(two, checking.executionArn)).measured;
    const transitionTwo = await transitionMean(spec, two, checking.executionArn);
    const atOwnPace = (await predict(pacedTopology("own-pace", transitionTwo), arn)).p50;
    return {
      inSample,
      unpaced,
      paced,
      measured,
      transitionOne,
      transitionTwo,
      probeBefore,
      probeAfter,
      atOwnPace,
      loadOne,
      loadTwo,
      arns: [arn, checking.executionArn],
    };
  } finally {
    await second.stop("SIGTERM");
    agents.splice(agents.indexOf(second), 1);
  }

  /** Mean state transition of one probe execution, in ms. */
  async function probeTransition(): Promise<number> {
    const run = await startAndWait(dir, probeSpec, { timeoutSeconds: 600 });
    if (run.code !== 0) throw new Error(`the probe ${probe.workflow} failed\n${run.stderr}`);
    return transitionMean(probeSpec, probeTopology, run.executionArn);
  }
}

function pacedTopology(name: string, transitionMs: number): string {
  return writeSpec(
    dir,
    `two-agents-${name}.yaml`,
    `${localstackTopology(2, k)}orchestration:\n  stateTransition: { ms: ${transitionMs.toFixed(1)} }\n`,
  );
}

async function predict(topology: string, executionArn: string) {
  const out = JSON.parse(await simulateCalibrated(dir, spec, topology, executionArn, ["--json"])) as {
    report: { makespanSeconds: { p50: number; p95: number } };
    calibration?: { measuredMakespanSeconds?: number };
  };
  const measured = out.calibration?.measuredMakespanSeconds;
  if (measured === undefined) throw new Error(`${executionArn}: calibration measured no makespan`);
  return { ...out.report.makespanSeconds, measured };
}

/** The fitted state transition's mean over an execution, in ms. */
async function transitionMean(specFile: string, topology: string, executionArn: string): Promise<number> {
  const text = await simulateCalibrated(dir, specFile, topology, executionArn, ["--explain", "--runs", "1"]);
  const found = /state transition .*mean ([\d.]+) ms/.exec(text)?.[1];
  if (found === undefined) throw new Error(`${executionArn}: no fitted state transition in\n${text}`);
  return Number(found);
}

function printPair(n: number, p: Pair): void {
  console.log(`\npair ${n}: executions ${p.arns.join(" ")}`);
  const rows = [
    ["configuration", "predicted p50", "p95", "measured", "error", "transition mean", "probe", "load avg"],
    [
      `1 agent × ${k} (calibrating run, in sample)`,
      seconds(p.inSample.p50),
      seconds(p.inSample.p95),
      seconds(p.inSample.measured),
      pct(p.inSample.p50, p.inSample.measured),
      `${p.transitionOne.toFixed(1)} ms`,
      `${p.probeBefore.toFixed(1)} ms`,
      p.loadOne,
    ],
    [
      `2 agents × ${k} (held out, paced by the probes)`,
      seconds(p.paced.p50),
      seconds(p.paced.p95),
      seconds(p.measured),
      pct(p.paced.p50, p.measured),
      `${p.transitionTwo.toFixed(1)} ms`,
      `${p.probeAfter.toFixed(1)} ms`,
      p.loadTwo,
    ],
  ];
  printTable(rows);
  console.log(
    `  held out at the calibrated pace (no probe): p50 ${seconds(p.unpaced.p50)}, error ${pct(p.unpaced.p50, p.measured)}; at the check run's own transition (diagnostic, not a prediction): p50 ${seconds(p.atOwnPace)}, error ${pct(p.atOwnPace, p.measured)}`,
  );
}

function printSummary(): void {
  const err = (predicted: number, measured: number) => (predicted - measured) / measured;
  const rows = [
    [`held out, 2 agents × ${k}`, "each pair", "median"],
    ...(
      [
        ["paced by the probes (the prediction)", (p: Pair) => err(p.paced.p50, p.measured)],
        ["calibrated pace, no probe", (p: Pair) => err(p.unpaced.p50, p.measured)],
        ["in sample, 1 agent", (p: Pair) => err(p.inSample.p50, p.inSample.measured)],
        ["at the check run's own pace (diagnostic)", (p: Pair) => err(p.atOwnPace, p.measured)],
      ] as const
    ).map(([label, e]) => {
      const errors = pairs.map(e);
      return [label, errors.map(signed).join(", "), signed(median(errors))];
    }),
  ];
  console.log(`\nerrors over ${pairs.length} pair(s) (load average now ${load()}):`);
  printTable(rows);
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function seconds(s: number): string {
  return `${s.toFixed(2)} s`;
}

function signed(e: number): string {
  return `${e >= 0 ? "+" : ""}${(e * 100).toFixed(1)}%`;
}

function pct(predicted: number, measured: number): string {
  return signed((predicted - measured) / measured);
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
