// Child process of bench/agent.ts: builds an agent-sized worker (AWS SDK
// clients, metrics, ops server, runtimes) and reports its RSS idle, then
// while N steps run at once. Prints one JSON line per figure.
// Run through bench/agent.ts, not directly.
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
// Imported module by module: only what a device build of `ferry agent` bundles.
import { SfnCompletion } from "../edge-agent/src/aws/sfn-completion.ts";
import { SqsQueue } from "../edge-agent/src/aws/sqs-queue.ts";
import { RecordingCompletion } from "../edge-agent/src/in-memory/completions.ts";
import { InMemoryQueue } from "../edge-agent/src/in-memory/in-memory-queue.ts";
import { PrometheusMetrics } from "../edge-agent/src/ops/metrics.ts";
import { OpsServer } from "../edge-agent/src/ops/ops-server.ts";
import { DockerRuntime } from "../edge-agent/src/runtimes/docker.ts";
import { FunctionRuntime } from "../edge-agent/src/runtimes/function.ts";
import { HttpRuntime } from "../edge-agent/src/runtimes/http.ts";
import { ProcessRuntime } from "../edge-agent/src/runtimes/process.ts";
// The fixtures file itself: the testing entry also exports the vitest contract suites.
import { manifestOf, stepMessage } from "../edge-agent/src/testing/fixtures.ts";
import { createWorker } from "../edge-agent/src/worker.ts";

const concurrent = Number(process.argv[2] ?? 16);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = () => process.memoryUsage().rss / 1024 / 1024;

// What `ferry agent` holds in memory besides the worker: the AWS clients and adapters.
const region = {
  region: "us-east-1",
  endpoint: "http://127.0.0.1:9",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
};
const adapters = [
  new SqsQueue({ client: new SQSClient(region), queueUrl: "http://127.0.0.1:9/q" }),
  new SfnCompletion(new SFNClient(region)),
];
const queue = new InMemoryQueue();
const completion = new RecordingCompletion();
let worker: ReturnType<typeof createWorker> | undefined;
const metrics = new PrometheusMetrics(() => worker?.runningCount ?? 0);
const ops = new OpsServer({
  host: "127.0.0.1",
  port: 0,
  registry: metrics.registry,
  health: () => ({ healthy: true }),
});
await ops.listen();
worker = createWorker({
  queue,
  completion,
  manifests: [
    manifestOf("bench", [{ name: "nap", runtime: { kind: "process", command: ["sleep", "3"], env: {} } }]),
  ],
  runtimes: {
    process: new ProcessRuntime(),
    function: new FunctionRuntime(),
    http: new HttpRuntime(),
    container: new DockerRuntime(),
  },
  concurrency: concurrent,
  metrics,
});
await worker.start();
await sleep(2000);
globalThis.gc?.();
console.log(JSON.stringify({ figure: "idle", rssMiB: mib(), adapters: adapters.length }));
for (let i = 0; i < concurrent; i++)
  queue.send(JSON.stringify(stepMessage({ workflow: "bench", step: "nap" })));
await sleep(1500);
console.log(JSON.stringify({ figure: "busy", rssMiB: mib(), running: worker.runningCount }));
await completion.waitFor(concurrent);
await worker.stop();
await ops.close();
