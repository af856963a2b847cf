// Simulator accuracy out of sample on LocalStack: a layered workflow of
// short sleep steps on one edge site is deployed, run once with ONE agent
// of --concurrency k slots, and calibrated from that execution
// (`ferry simulate --calibrate <execution-arn>`: its history and the
// agent's provenance records). The simulator then predicts TWO agents
// (2k slots), which are started and run the workflow again: the table shows
// predicted p50/p95, measured and the error, with the calibrated
// prediction of the one-agent run itself as the in-sample baseline, and
// the load average. The stack is destroyed at the end.
// Needs LocalStack (bash test/env/ensure-localstack.sh).
// Run: npx tsx bench/simulate-heldout-localstack.ts [--layers 6] [--width 6] [--sleep 0.2] [--concurrency 2]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { requireLocalStack } from "../test/support/env.ts";
import {
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
  },
});
const layers = Number(values.layers);
const width = Number(values.width);
const k = Number(values.concurrency);

await requireLocalStack();
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(
  dir,
  "layers.json",
  layeredSleepSpec(`simls-${suffix}`, layers, width, Number(values.sleep)),
);
const one = writeSpec(dir, "one-agent.yaml", localstackTopology(1, k));
const two = writeSpec(dir, "two-agents.yaml", localstackTopology(2, k));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

const agents: FerryProcess[] = [];
try {
  const deployed = await deploySpec(dir, spec);
  console.log(
    `deployed ${deployed.workflow}: ${layers * width} steps (${layers} layers × ${width}), sleep ${values.sleep} s`,
  );
  agents.push(await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: k }));
  const calibrating = await startAndWait(dir, spec, { timeoutSeconds: 1800 });
  if (calibrating.code !== 0) throw new Error(`the one-agent run failed\n${calibrating.stderr}`);
  const loadOne = load();
  const arn = calibrating.executionArn;

  const predict = async (topology: string) => {
    const out = JSON.parse(await simulateCalibrated(dir, spec, topology, arn, ["--json"])) as {
      report: { makespanSeconds: { p50: number; p95: number } };
      calibration?: { measuredMakespanSeconds?: number };
    };
    return { ...out.report.makespanSeconds, measured: out.calibration?.measuredMakespanSeconds };
  };
  const inSample = await predict(one);
  const heldOut = await predict(two);
  console.log(
    (await simulateCalibrated(dir, spec, two, arn, ["--explain"]))
      .split("\n")
      .filter((l) => /^(runtime model| {2}|makespan|calibrat)/.test(l))
      .join("\n"),
  );

  agents.push(await startAgent(dir, deployed.agentConfigs.lab!, { concurrency: k }));
  const checking = await startAndWait(dir, spec, { timeoutSeconds: 1800 });
  if (checking.code !== 0) throw new Error(`the two-agent run failed\n${checking.stderr}`);
  const loadTwo = load();
  // The two-agent run's own duration, as calibration measures it.
  const measuredTwo = await measured(checking.executionArn);
  console.log(`executions: ${arn} ${checking.executionArn}`);
  // LocalStack's own pace in each run: a slower engine, not the model, may explain an error.
  const transitionOne = await transitionMean(arn);
  const transitionTwo = await transitionMean(checking.executionArn);
  // A diagnostic, not the prediction: the same calibration with the check
  // run's own transition mean, to tell the model's error from LocalStack's
  // pace drifting between the two runs.
  const paced = writeSpec(
    dir,
    "two-agents-paced.yaml",
    `${localstackTopology(2, k)}orchestration:\n  stateTransition: { ms: ${Number.parseFloat(transitionTwo)} }\n`,
  );
  const pacedP50 = (
    JSON.parse(await simulateCalibrated(dir, spec, paced, arn, ["--json"])) as {
      report: { makespanSeconds: { p50: number } };
    }
  ).report.makespanSeconds.p50;

  const rows = [
    [
      "configuration",
      "predicted p50",
      "p95",
      "measured",
      "error",
      "its transition mean",
      "load avg (1/5/15 min)",
    ],
    [
      `1 agent × ${k} (calibrating run, in sample)`,
      `${inSample.p50.toFixed(2)} s`,
      `${inSample.p95.toFixed(2)} s`,
      `${inSample.measured!.toFixed(2)} s`,
      pct(inSample.p50, inSample.measured!),
      transitionOne,
      loadOne,
    ],
    [
      `2 agents × ${k} (held out)`,
      `${heldOut.p50.toFixed(2)} s`,
      `${heldOut.p95.toFixed(2)} s`,
      `${measuredTwo.toFixed(2)} s`,
      pct(heldOut.p50, measuredTwo),
      transitionTwo,
      loadTwo,
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  console.log(
    `held out at the check run's own transition pace (diagnostic): predicted p50 ${pacedP50.toFixed(2)} s, error ${pct(pacedP50, measuredTwo)}`,
  );

  async function transitionMean(executionArn: string): Promise<string> {
    const text = await simulateCalibrated(dir, spec, two, executionArn, ["--explain", "--runs", "1"]);
    return /state transition .*mean ([\d.]+ ms)/.exec(text)?.[1] ?? "?";
  }

  async function measured(executionArn: string): Promise<number> {
    const out = JSON.parse(await simulateCalibrated(dir, spec, two, executionArn, ["--json"])) as {
      calibration?: { measuredMakespanSeconds?: number };
    };
    return out.calibration!.measuredMakespanSeconds!;
  }
} finally {
  await Promise.all(agents.map((a) => a.stop("SIGTERM")));
  await destroySpec(dir, spec);
}

function pct(predicted: number, measured: number): string {
  const e = (predicted - measured) / measured;
  return `${e >= 0 ? "+" : ""}${(e * 100).toFixed(1)}%`;
}
