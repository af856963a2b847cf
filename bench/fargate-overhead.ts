// The Fargate path's step overhead, against a bare `docker run` of the same
// image doing the same command, in the same run. LocalStack cannot run ECS:
// the aws-target task definition runs with the local Docker engine as ECS
// would start it (test/support/fargate-tasks.ts), answering a real execution
// on LocalStack Step Functions.
//   cold: task start (init container create) → SendTaskSuccess (TaskSucceeded
//         in the history), a step message already waiting: a pool scaled
//         from zero, minus Fargate's own provisioning and image pull.
//   warm: TaskScheduled → TaskSucceeded with the task already running.
//   bare: container create → exit of `docker run` of the step's image and command.
// Needs LocalStack and Docker (bash test/env/ensure-localstack.sh, test/env/build-test-image.sh).
// Run: npx tsx bench/fargate-overhead.ts [--cold 5] [--warm 10]
import { parseArgs } from "node:util";
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { synthesizeStack } from "@ferry/infra";
import Dockerode from "dockerode";
import {
  awsClientConfig,
  dockerSocket,
  requireLocalStack,
  requireTestImage,
  TEST_IMAGE,
  TEST_REGION,
} from "../test/support/env.ts";
import {
  buildImageAssets,
  localStackEnv,
  type RunningTask,
  runTask,
  taskDefinitions,
} from "../test/support/fargate-tasks.ts";
import { tempProject } from "../test/support/ferry-cli.ts";
import { physicalIds, readTemplate, TemplateResolver } from "../test/support/iam-evidence.ts";
import { deploySpec, destroySpec, runSuffix, writeSpec } from "../test/support/localstack-ferry.ts";
import { percentile } from "../test/support/localstack-load.ts";

const { values } = parseArgs({
  options: { cold: { type: "string", default: "5" }, warm: { type: "string", default: "10" } },
});
const COMMAND = ["sh", "-c", "cat > /dev/null; echo '{\"ok\":true}'"];

await requireLocalStack();
await requireTestImage();
const suffix = runSuffix();
const dir = tempProject();
const spec = writeSpec(
  dir,
  "overhead.json",
  JSON.stringify({
    name: `overhead-${suffix}`,
    sites: { cloud: { type: "aws", region: TEST_REGION } },
    defaults: { timeoutSeconds: 60 },
    steps: [{ name: "noop", site: "cloud", container: { image: TEST_IMAGE, command: COMMAND } }],
  }),
);
const deployed = await deploySpec(dir, spec);
const { compiled } = await compileSpecFile(spec);
const synth = synthesizeStack(compiled!, {
  outDir: `${dir}/cdk.out.aws`,
  projectRoot: dir,
  target: "aws",
  region: TEST_REGION,
  nag: false,
});
const [task] = taskDefinitions(synth.templatePath);
const resolver = new TemplateResolver(
  readTemplate(synth.templatePath),
  await physicalIds(synth.stackName, TEST_REGION),
  TEST_REGION,
);
const images = buildImageAssets(synth.assemblyDir, synth.stackName);
const sfn = new SFNClient(awsClientConfig());
const docker = new Dockerode({ socketPath: dockerSocket() });
let runs = 0;

async function history(arn: string) {
  return (
    (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 100 }))).events ?? []
  );
}
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("timed out");
}
async function start(): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: deployed.deployment.stateMachineArn, input: "{}" }),
  );
  return out.executionArn!;
}
const eventTime = (arn: string, type: string) =>
  until(async () => (await history(arn)).find((e) => e.type === type)?.timestamp?.getTime());
const startTask = () =>
  runTask(task!, {
    resolver,
    images,
    extraEnv: localStackEnv(),
    prefix: `bench-${suffix}-${++runs}`,
  });

async function bare(): Promise<number> {
  const started = Date.now();
  const container = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: COMMAND,
    name: `ferry-fargate-bench-${suffix}-${++runs}`,
    HostConfig: { NetworkMode: "host" },
  });
  await container.start();
  await container.wait();
  const ms = Date.now() - started;
  await container.remove({ force: true });
  return ms;
}

const cold: number[] = [];
const coldInit: number[] = [];
const coldAgent: number[] = [];
const warm: number[] = [];
const bareMs: number[] = [];
const tasks: RunningTask[] = [];
try {
  await bare(); // warm-up: the engine's first container of an image is slower
  for (let i = 0; i < Number(values.cold); i++) {
    const arn = await start();
    await eventTime(arn, "TaskScheduled");
    const t0 = Date.now();
    tasks.push(await startTask());
    const succeeded = await eventTime(arn, "TaskSucceeded");
    const { initDoneMs, startedMs } = tasks.at(-1)!.timings;
    cold.push(succeeded - t0);
    coldInit.push(initDoneMs - t0);
    coldAgent.push(succeeded - startedMs);
    await tasks.pop()!.stop();
    bareMs.push(await bare());
    // A stopped agent's last long poll stays open in LocalStack for its 20 s and would take the next message.
    await new Promise((r) => setTimeout(r, 21_000));
  }
  tasks.push(await startTask());
  for (let i = 0; i < Number(values.warm) + 1; i++) {
    const arn = await start();
    const succeeded = await eventTime(arn, "TaskSucceeded");
    const scheduled = await eventTime(arn, "TaskScheduled");
    if (i > 0) warm.push(succeeded - scheduled); // the first step of a task loads the AWS SDK lazily
    bareMs.push(await bare());
  }
} finally {
  for (const t of tasks) await t.stop();
  sfn.destroy();
  await destroySpec(dir, spec);
}

const p50 = (xs: number[]) => percentile(xs, 50);
const row = (label: string, xs: number[]) =>
  console.log(
    `  ${label.padEnd(56)} p50 ${p50(xs).toFixed(0).padStart(6)} ms  p95 ${percentile(xs, 95).toFixed(0).padStart(6)} ms  (n=${xs.length})`,
  );
console.log(`Fargate path vs bare docker run (${TEST_IMAGE}, ${COMMAND.join(" ")}):`);
row("bare docker run: create → exit", bareMs);
row("cold task: init container → SendTaskSuccess", cold);
row("  of which: volume + init container (copy, exit)", coldInit);
row("  of which: step container started → SendTaskSuccess", coldAgent);
row("warm task: TaskScheduled → SendTaskSuccess", warm);
console.log(
  `  overhead vs bare (p50): cold ${(p50(cold) - p50(bareMs)).toFixed(0)} ms, warm ${(p50(warm) - p50(bareMs)).toFixed(0)} ms (goal ≤ +50 ms)`,
);
