// Child process of `bench/agent.ts --baseline DIR`: the same measurement run
// against the edge agent sources of one checkout (argv[2]: its root; this
// checkout or the baseline's), so two versions of the agent are compared by
// one piece of code. argv[3]: "idle" (RSS of an agent-sized worker at rest,
// as bench/agent-probe.ts builds it) or "rate" (no-op process steps/s through
// the in-memory queue, concurrency 8). Prints one JSON line.
// Builds its manifest from the contract module alone, so neither side loads the compiler.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [root, mode] = process.argv.slice(2) as [string, "idle" | "rate"];
// biome-ignore lint/suspicious/noExplicitAny: modules of another checkout, typed by their own sources.
const load = (path: string): Promise<any> => import(pathToFileURL(join(root, path)).href);
const [
  contract,
  sfnCompletion,
  sqsQueue,
  completions,
  inMemoryQueue,
  metricsModule,
  opsServer,
  docker,
  fn,
  http,
  proc,
  worker,
] = await Promise.all([
  load("dsl-compiler/src/contract/index.ts"),
  load("edge-agent/src/aws/sfn-completion.ts"),
  load("edge-agent/src/aws/sqs-queue.ts"),
  load("edge-agent/src/in-memory/completions.ts"),
  load("edge-agent/src/in-memory/in-memory-queue.ts"),
  load("edge-agent/src/ops/metrics.ts"),
  load("edge-agent/src/ops/ops-server.ts"),
  load("edge-agent/src/runtimes/docker.ts"),
  load("edge-agent/src/runtimes/function.ts"),
  load("edge-agent/src/runtimes/http.ts"),
  load("edge-agent/src/runtimes/process.ts"),
  load("edge-agent/src/worker.ts"),
]);
// What `ferry agent` adds where the checkout has it: the record of each step's process group.
const orphans = await load("edge-agent/src/orphans.ts").catch(() => undefined);
const { SFNClient } = await import("@aws-sdk/client-sfn");
const { SQSClient } = await import("@aws-sdk/client-sqs");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = () => process.memoryUsage().rss / 1024 / 1024;

function manifest(command: string[]) {
  const definition = {
    name: "noop",
    site: "edge",
    executor: "agent",
    resources: { cpu: 1, memoryMiB: 512, gpu: 0 },
    timeoutSeconds: 60,
    inputs: [],
    inputSites: {},
    outputs: [],
    cache: { enabled: false },
    runtime: { kind: "process", command, env: {} },
  };
  const steps = { noop: { ...definition, hash: contract.stepHash(definition) } };
  return { manifestVersion: 1, workflow: "bench", hash: contract.manifestHash(steps), steps };
}

let tokens = 0;
const message = () =>
  JSON.stringify({
    v: 1,
    token: `token-${++tokens}`,
    workflow: "bench",
    execution: "exec-1",
    step: "noop",
    attempt: 1,
    input: { input: {}, deps: {} },
    jobFiles: { bucket: "local", prefix: "bench/exec-1/" },
  });

const workDir = mkdtempSync(join(tmpdir(), "ferry-bench-ab-"));
const groups = orphans ? { groups: new orphans.StepGroups(workDir) } : {};
const region = {
  region: "us-east-1",
  endpoint: "http://127.0.0.1:9",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
};

if (mode === "idle") {
  const adapters = [
    new sqsQueue.SqsQueue({ client: new SQSClient(region), queueUrl: "http://127.0.0.1:9/q" }),
    new sfnCompletion.SfnCompletion(new SFNClient(region)),
  ];
  // biome-ignore lint/suspicious/noExplicitAny: see load.
  let w: any;
  const metrics = new metricsModule.PrometheusMetrics(() => w?.runningCount ?? 0);
  const ops = new opsServer.OpsServer({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    health: () => ({ healthy: true }),
  });
  await ops.listen();
  w = worker.createWorker({
    queue: new inMemoryQueue.InMemoryQueue(),
    completion: new completions.RecordingCompletion(),
    manifests: [manifest(["true"])],
    runtimes: {
      process: new proc.ProcessRuntime(groups),
      function: new fn.FunctionRuntime(groups),
      http: new http.HttpRuntime(),
      container: new docker.DockerRuntime(),
    },
    workDir,
    metrics,
  });
  await w.start();
  await sleep(2000);
  globalThis.gc?.();
  await sleep(200);
  console.log(JSON.stringify({ figure: "idle", rssMiB: mib(), adapters: adapters.length }));
  await w.stop();
  await ops.close();
} else {
  const run = async (steps: number) => {
    const queue = new inMemoryQueue.InMemoryQueue();
    const completion = new completions.RecordingCompletion();
    const w = worker.createWorker({
      queue,
      completion,
      manifests: [manifest(["true"])],
      runtimes: { process: new proc.ProcessRuntime(groups) },
      concurrency: 8,
      workDir,
    });
    await w.start();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) queue.send(message());
    await completion.waitFor(steps);
    const seconds = (performance.now() - t0) / 1000;
    await w.stop();
    const failed = completion.records.filter((r: { kind: string }) => r.kind === "failure").length;
    if (failed > 0) throw new Error(`${failed} bench steps failed`);
    return steps / seconds;
  };
  await run(200);
  console.log(JSON.stringify({ figure: "rate", stepsPerSecond: await run(2000) }));
}
rmSync(workDir, { recursive: true, force: true });
