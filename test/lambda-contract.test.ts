/**
 * A function step on an aws site keeps the edge contract, run by
 * `ferry functions serve` from the cloud assembly `ferry compile --out`
 * wrote, against the workflow deployed to LocalStack (SQS, Step Functions,
 * S3), with a real agent for the edge steps:
 * - the edge step writes a job file and an output over 256 KiB (passed by reference);
 * - the function reads the staged job file and the resolved output, writes
 *   a job file of its own and returns an output over 256 KiB;
 * - the last edge step reads both; the execution SUCCEEDS.
 * The files the served environment loaded from its asset folder are the
 * asset folder's files, byte for byte. Restarted between two executions,
 * the host leaves no long poll behind to take the next message: the new
 * host gets it on its first delivery, and what a stopping host's open long
 * polls still bring is handed back at once.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type BatchInvoker, FunctionHost } from "@ferry/functions";
import type { SqsEvent } from "@ferry/functions/lambda";
import { SILENT_LOGGER } from "@ferry/functions/worker";
import { SqsFunctionQueue } from "@ferry/infra/cloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack } from "./support/env.ts";
import { eventually, ferry, tempProject } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deadLetterDepths,
  deploySpec,
  destroySpec,
  type FerryProcess,
  ferryEnv,
  queueDepth,
  runSuffix,
  startAgent,
  startAndWait,
  startFunctionHost,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const dir = tempProject();
const BLOB_BYTES = 300_000;
const PAD_BYTES = 300 * 1024;

mkdirSync(join(dir, "steps"), { recursive: true });
writeFileSync(
  join(dir, "steps", "crunch.ts"),
  `import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export async function handler(input: { deps: { produce: { blob: string } } }, context: { jobDir: string; step: string }) {
  const csv = await readFile(join(context.jobDir, "raw/data.csv"), "utf8");
  const rows = csv.trim().split("\\n").length - 1;
  const blobLength = input.deps.produce.blob.length;
  console.log(\`crunching \${rows} rows\`);
  console.warn("crunch warns on stderr");
  await writeFile(join(context.jobDir, "report.txt"), \`rows=\${rows} blob=\${blobLength} step=\${context.step}\\n\`);
  return { rows, blobLength, pad: "y".repeat(${PAD_BYTES}) };
}
`,
);
const checkScript = [
  'const fs = require("node:fs");',
  "const input = JSON.parse(fs.readFileSync(0, 'utf8'));",
  "const report = fs.readFileSync(process.env.FERRY_JOB_DIR + '/report.txt', 'utf8');",
  "const { rows, blobLength, pad } = input.deps.crunch;",
  "console.log(JSON.stringify({ report, rows, blobLength, padLength: pad.length }));",
].join(" ");
const spec = writeSpec(
  dir,
  "lambda-contract.json",
  JSON.stringify({
    name: `lambda-${suffix}`,
    sites: { cloud: { type: "aws", region: "us-east-1" }, laptop: { type: "edge" } },
    defaults: { timeoutSeconds: 60 },
    steps: [
      {
        name: "produce",
        site: "laptop",
        process: {
          command: [
            "sh",
            "-c",
            `mkdir -p "$FERRY_JOB_DIR/raw"; printf 'a,b\\n1,2\\n3,4\\n' > "$FERRY_JOB_DIR/raw/data.csv"; printf '{"blob":"%s"}\\n' "$(head -c ${BLOB_BYTES} /dev/zero | tr '\\0' x)"`,
          ],
        },
        outputs: ["raw/data.csv"],
      },
      {
        name: "crunch",
        depends: ["produce"],
        site: "cloud",
        timeoutSeconds: 45,
        resources: { memoryMiB: 256 },
        function: { handler: "steps/crunch.ts#handler" },
        inputs: ["raw/data.csv"],
        outputs: ["report.txt"],
      },
      {
        name: "check",
        depends: ["crunch"],
        site: "laptop",
        process: { command: ["node", "-e", checkScript] },
        inputs: ["report.txt"],
      },
    ],
  }),
);
const build = join(dir, "build");

let deployed: Deployed;
const running: FerryProcess[] = [];
let firstHost: FerryProcess | undefined;

beforeAll(async () => {
  await requireLocalStack();
  const compiled = await ferry(["compile", spec, "--out", build], { cwd: dir, env: ferryEnv() });
  expect(compiled.code, compiled.stderr).toBe(0);
  deployed = await deploySpec(dir, spec);
}, 300_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGTERM")));
  await destroySpec(dir, spec);
}, 300_000);

/** The `crunch` function's asset folder, read from the template and asset manifest as CDK wrote them. */
function crunchAssetDir(): string {
  const assembly = join(build, "cdk.out");
  const manifest = JSON.parse(readFileSync(join(assembly, "manifest.json"), "utf8")) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const [, stack] = Object.entries(manifest.artifacts).find(
    ([, a]) => a.type === "aws:cloudformation:stack",
  )!;
  const template = JSON.parse(readFileSync(join(assembly, stack.properties!.templateFile!), "utf8")) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const fn = Object.values(template.Resources).find(
    (r) =>
      r.Type === "AWS::Lambda::Function" &&
      (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables.FERRY_STEP === "crunch",
  )!;
  const key = (fn.Properties.Code as { S3Key: string }).S3Key;
  return join(assembly, `asset.${key.replace(/\.zip$/, "")}`);
}

function filesOf(root: string, at = root): Array<{ path: string; sha256: string }> {
  return readdirSync(at).flatMap((name) => {
    const path = join(at, name);
    if (statSync(path).isDirectory()) return filesOf(root, path);
    return [
      { path: relative(root, path), sha256: createHash("sha256").update(readFileSync(path)).digest("hex") },
    ];
  });
}

describe("a Lambda function step on LocalStack, served from the cloud assembly", () => {
  it("stages job files, resolves and offloads large outputs, and SUCCEEDS", async () => {
    const agent = await startAgent(dir, deployed.agentConfigs.laptop!, { runtime: "process" });
    running.push(agent);
    const host = await startFunctionHost(dir, spec, {}, build);
    running.push(host);
    firstHost = host;
    // The function's own Timeout and MemorySize, as the template sets them.
    expect(host.stderr).toMatch(/crunch \(asset\.[0-9a-f]{64}\/index\.mjs, 45 s, 256 MB, batch 1\/0 s\)/);

    const result = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(result.code, `${result.stdout}\n${result.stderr}\n${host.stdout}\n${host.stderr}`).toBe(0);
    expect(result.stderr).toMatch(/SUCCEEDED/);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual({
      check: {
        report: "rows=2 blob=300000 step=crunch\n",
        rows: 2,
        blobLength: BLOB_BYTES,
        padLength: PAD_BYTES,
      },
    });

    const execution = result.executionArn.split(":").at(-1)!;
    const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
    try {
      const bucket = deployed.deployment.jobBucket;
      const cloudPrefix = `${deployed.workflow}/cloud/${execution}/`;
      const report = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${cloudPrefix}report.txt` }));
      expect(await report.Body!.transformToString()).toBe("rows=2 blob=300000 step=crunch\n");
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${cloudPrefix}.ferry/outputs/crunch/` }),
      );
      expect(listed.Contents).toHaveLength(1);
      const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: listed.Contents![0]!.Key! }));
      const output = JSON.parse(await stored.Body!.transformToString()) as { pad: string; rows: number };
      expect(output.rows).toBe(2);
      expect(output.pad.length).toBe(PAD_BYTES);
      const upstream = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: `${deployed.workflow}/laptop/${execution}/.ferry/outputs/produce/`,
        }),
      );
      expect(upstream.Contents).toHaveLength(1);
    } finally {
      s3.destroy();
    }

    // The function host uploaded the attempt's log as the edge agent does; ferry logs reads it.
    const logs = await eventually(async () => {
      const read = await ferry(["logs", result.executionArn, "crunch"], { cwd: dir, env: ferryEnv() });
      return read.stdout.includes("crunching") ? read : undefined;
    }, "the crunch step's log");
    expect(logs.stdout).toContain(`==> ${deployed.workflow}/cloud/${execution}/.ferry/logs/crunch/1.log <==`);
    expect(logs.stdout).toMatch(
      /# crunch attempt 1 \(lambda\): succeeded, \d+ ms\n--- stdout ---\ncrunching 2 rows\n--- stderr ---\ncrunch warns on stderr\n/,
    );

    // What the environment loaded from its code folder is the deployed asset, file for file, byte for byte.
    const ready = host.logLines().filter((l) => l.message === "execution environment ready");
    expect(ready.length).toBeGreaterThan(0);
    const assetDir = crunchAssetDir();
    for (const line of ready) {
      expect(line.assetDir).toBe(assetDir);
      const modules = (line.modules as Array<{ path: string; sha256: string }>).map(({ path, sha256 }) => ({
        path,
        sha256,
      }));
      expect(modules.sort((a, b) => a.path.localeCompare(b.path))).toEqual(
        filesOf(assetDir).sort((a, b) => a.path.localeCompare(b.path)),
      );
    }

    expect(await deadLetterDepths(deployed.deployment)).toEqual(
      Object.fromEntries(Object.keys(deployed.deployment.queues).map((id) => [id, 0])),
    );
    for (const q of Object.values(deployed.deployment.queues)) {
      await eventually(
        async () => ((await queueDepth(q.url, deployed.deployment.region)) === 0 ? true : undefined),
        `queue ${q.id} to be empty`,
        15_000,
      );
    }
  });

  it("restarted between two executions, the host leaves no long poll behind: the next message is the new host's first delivery", async () => {
    expect(firstHost, "the first test's host").toBeDefined();
    const stopped = await firstHost!.stop("SIGTERM");
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(/stopped: 1 invocations .*, 0 handed back unrun/);
    const host = await startFunctionHost(dir, spec, {}, build);
    running.push(host);

    const result = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(result.code, `${result.stdout}\n${result.stderr}\n${host.stdout}\n${host.stderr}`).toBe(0);
    // A stopped host's long poll would have taken the message and hidden it until its visibility timeout.
    const invoked = host.logLines().filter((l) => l.message === "invoking");
    expect(invoked.map((l) => l.records)).toEqual([[{ messageId: expect.any(String), receiveCount: 1 }]]);
  });
});

/** Answers every event with success and remembers it. */
class RecordingInvoker implements BatchInvoker {
  readonly events: SqsEvent[] = [];
  async invoke(event: SqsEvent) {
    this.events.push(event);
    return { kind: "response" as const, response: null };
  }
  async close() {}
}

/** Counts receives begun, to know the host's long polls are on their way to the queue. */
class CountingQueue extends SqsFunctionQueue {
  receives = 0;
  override receive(options: Parameters<SqsFunctionQueue["receive"]>[0]) {
    this.receives += 1;
    return super.receive(options);
  }
}

describe("the function host on a LocalStack queue, stopped with its long polls open", () => {
  it("hands back at once what they bring after the stop, and leaves none to take later messages", async () => {
    const sqs = new SQSClient(awsClientConfig());
    // Far above the test's bounds: a message hidden by a lost receive would not come back in time.
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `ferry-serve-${suffix}`,
        Attributes: { VisibilityTimeout: "900" },
      }),
    );
    try {
      const hostOn = (queue: SqsFunctionQueue, invoker: BatchInvoker) =>
        new FunctionHost({
          functions: [{ workflow: "restart", step: "fn", queue, invoker }],
          logger: SILENT_LOGGER,
          concurrency: 2,
          waitSeconds: 20,
        });
      const firstQueue = new CountingQueue(sqs, QueueUrl!);
      const firstInvoker = new RecordingInvoker();
      const first = hostOn(firstQueue, firstInvoker);
      first.start();
      await eventually(() => (firstQueue.receives >= 2 ? true : undefined), "both long polls to begin");

      // Given a stop begun while both long polls are open, when a message arrives
      const stopping = first.stop(5000);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "during the stop" }));
      expect(await stopping).toBe(true);
      // Then the stopping host hands it back unrun (its other open poll may take and hand it back again)
      expect(firstInvoker.events).toEqual([]);
      expect(first.stats.invocations).toBe(0);
      expect([1, 2]).toContain(first.stats.handedBack);
      expect(firstQueue.receives).toBe(2);

      // And once stopped, no receive of it is left to take the next message
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "after the stop" }));
      const invoker = new RecordingInvoker();
      const second = hostOn(new SqsFunctionQueue(sqs, QueueUrl!), invoker);
      second.start();
      try {
        await eventually(
          () => (invoker.events.flatMap((e) => e.Records).length >= 2 ? true : undefined),
          "the new host to get both messages",
          60_000,
        );
      } finally {
        await second.stop(5000);
      }
      const delivered = Object.fromEntries(
        invoker.events.flatMap((e) => e.Records).map((r) => [r.body, r.attributes?.ApproximateReceiveCount]),
      );
      // Every earlier delivery was a hand-back: nothing was hidden until its visibility timeout.
      expect(delivered).toEqual({
        "during the stop": String(first.stats.handedBack + 1),
        "after the stop": "1",
      });
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      sqs.destroy();
    }
  });
});
