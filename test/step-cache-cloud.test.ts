import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { cacheBlobKey, type Manifest } from "@ferry/dsl-compiler/contract";
import {
  createWorker,
  InMemoryQueue,
  ProcessRuntime,
  RecordingCompletion,
  type Worker,
} from "@ferry/edge-agent";
import { S3JobFileStore, S3StepCache } from "@ferry/edge-agent/aws";
import { manifestOf, shStep, stepMessage } from "@ferry/edge-agent/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, uniqueName } from "./support/env.ts";
import { eventually } from "./support/ferry-cli.ts";

// The cloud step cache on LocalStack: an edge site writes an entry to its own
// cache segment and the index table, another site reads it and is answered
// after checking the files' sha256, and concurrent identical steps run once.
describe("S3StepCache: sharing step results between sites (LocalStack S3 + DynamoDB)", () => {
  const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
  let calls = 0;
  const dynamodb = new DynamoDBClient(awsClientConfig());
  dynamodb.middlewareStack.add(
    (next) => async (args) => {
      calls++;
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  const bucket = uniqueName("ferry-cache-cloud");
  const table = uniqueName("ferry-cache-index");
  const workflow = "cache-cloud";
  let work: string;
  const workers: Worker[] = [];

  beforeAll(async () => {
    await requireLocalStack(["s3", "dynamodb"]);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    work = await mkdtemp(join(tmpdir(), "ferry-cache-cloud-"));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop({ graceMs: 0 })));
  });

  /** `train` writes model.bin with fresh random bytes and logs each real run to ran.log; placed on `site`. */
  function manifestFor(site: string): Manifest {
    return manifestOf(workflow, [
      shStep(
        "train",
        `echo train >> ${work}/ran.log; sleep 1; head -c 4096 /dev/urandom > $FERRY_JOB_DIR/model.bin; echo "{\\"n\\": $(date +%s%N)}"`,
        { site, outputs: ["model.bin"], cache: { enabled: true } },
      ),
    ]);
  }

  async function workerFor(site: string) {
    const queue = new InMemoryQueue({ name: `cache-${site}` });
    const completion = new RecordingCompletion();
    const worker = createWorker({
      queue,
      completion,
      manifests: [manifestFor(site)],
      runtimes: { process: new ProcessRuntime() },
      jobFiles: new S3JobFileStore({ client: s3 }),
      cache: new S3StepCache({ s3, dynamodb, bucket, table, site }),
      workDir: join(work, `work-${site}`),
      site,
      concurrency: 4,
    });
    await worker.start();
    workers.push(worker);
    const run = async (execution: string, fields: { noCache?: boolean } = {}) => {
      const message = stepMessage({
        workflow,
        step: "train",
        execution,
        jobFiles: { bucket, prefix: `${workflow}/${execution}/` },
        ...fields,
      });
      queue.send(JSON.stringify(message));
      while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 20));
      return completion.forToken(message.token)[0]! as { kind: string; output?: unknown };
    };
    return { run };
  }

  const ran = async () =>
    (await readFile(join(work, "ran.log"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;
  const object = async (Key: string) =>
    Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToByteArray(),
    );
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  it("edge writes, another site reads: a hit after the sha256 check, files restored under the reader's keys", async () => {
    const lab = await workerFor("lab");
    const plant = await workerFor("plant");
    const first = await lab.run("e1");
    expect(first.kind).toBe("success");
    expect(await ran()).toBe(1);
    const model = await object(`${workflow}/lab/e1/model.bin`);
    // The entry's file sits in lab's cache segment, by content.
    expect(sha(await object(cacheBlobKey(workflow, "lab", sha(model))))).toBe(sha(model));
    const entries = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${workflow}/.ferry-cache/lab/train/` }),
    );
    expect(entries.KeyCount).toBe(1);

    calls = 0;
    const second = await plant.run("e2");
    expect(second.output).toEqual(first.output);
    expect(await ran()).toBe(1);
    expect(sha(await object(`${workflow}/plant/e2/model.bin`))).toBe(sha(model));
    // One index read answers the lookup; the claim is never needed on a hit.
    expect(calls).toBe(1);
    // The reader wrote its provenance naming the run that made the result.
    // Written right after the answer: polled for.
    const record = await eventually(
      () =>
        object(`${workflow}/plant/e2/.ferry/provenance/train/1.json`).then(
          (b) => JSON.parse(b.toString()) as { cache: unknown },
          () => undefined,
        ),
      "the provenance record",
    );
    expect(record.cache).toMatchObject({ status: "hit", origin: { execution: "e1", site: "lab" } });
  });

  it("refuses an entry whose file fails its sha256, runs the step and repairs the entry", async () => {
    const lab = await workerFor("lab");
    const before = await ran();
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${workflow}/.ferry-cache/lab/.blobs/` }),
    );
    for (const blob of listed.Contents ?? [])
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: blob.Key!, Body: "tampered" }));
    const rerun = await lab.run("e3");
    expect(rerun.kind).toBe("success");
    expect(await ran()).toBe(before + 1);
    const again = await lab.run("e4");
    expect(again.output).toEqual(rerun.output);
    expect(await ran()).toBe(before + 1);
  });

  it("skips the lookup for a message with noCache (ferry start --no-cache) and rewrites the entry", async () => {
    const lab = await workerFor("lab");
    const cached = await lab.run("n1");
    const before = await ran();
    const fresh = await lab.run("n2", { noCache: true });
    expect(fresh.kind).toBe("success");
    expect(await ran()).toBe(before + 1);
    expect(fresh.output).not.toEqual(cached.output);
    // The rerun's entry answers the next message.
    const next = await lab.run("n3");
    expect(next.output).toEqual(fresh.output);
    expect(await ran()).toBe(before + 1);
  });

  it("checks expiry on read: an entry past its ttl is a miss even while the index still holds it", async () => {
    const queue = new InMemoryQueue({ name: "cache-ttl" });
    const completion = new RecordingCompletion();
    const manifest = manifestOf(workflow, [
      shStep("train", `echo train >> ${work}/ran.log; echo '{"ttl": true}'`, {
        site: "lab",
        cache: { enabled: true, ttlSeconds: 4, key: ["ttl"] },
      }),
    ]);
    const worker = createWorker({
      queue,
      completion,
      manifests: [manifest],
      runtimes: { process: new ProcessRuntime() },
      jobFiles: new S3JobFileStore({ client: s3 }),
      cache: new S3StepCache({ s3, dynamodb, bucket, table, site: "lab" }),
      workDir: join(work, "work-ttl"),
      site: "lab",
    });
    await worker.start();
    workers.push(worker);
    const run = async (execution: string) => {
      const message = stepMessage({
        workflow,
        step: "train",
        execution,
        jobFiles: { bucket, prefix: `${workflow}/${execution}/` },
      });
      queue.send(JSON.stringify(message));
      while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 20));
    };
    const before = await ran();
    await run("t1");
    await run("t2");
    expect(await ran()).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 4500));
    await run("t3");
    expect(await ran()).toBe(before + 2);
  });

  it("runs concurrent identical steps once: the conditional write elects one, the other waits for its entry", async () => {
    // A fresh key: another extra string in the definition.
    const site = "plant";
    const queue = new InMemoryQueue({ name: "cache-concurrent" });
    const completion = new RecordingCompletion();
    const manifest = manifestOf(workflow, [
      shStep("train", `echo train >> ${work}/ran.log; sleep 2; echo '{"once": true}'`, {
        site,
        cache: { enabled: true, key: ["concurrent"] },
      }),
    ]);
    const caches = [1, 2].map(() => new S3StepCache({ s3, dynamodb, bucket, table, site }));
    for (const cache of caches) {
      const worker = createWorker({
        queue,
        completion,
        manifests: [manifest],
        runtimes: { process: new ProcessRuntime() },
        jobFiles: new S3JobFileStore({ client: s3 }),
        cache,
        workDir: join(work, `work-c-${workers.length}`),
        site,
        concurrency: 1,
        receiveWaitSeconds: 1,
      });
      await worker.start();
      workers.push(worker);
    }
    const before = await ran();
    const messages = ["c1", "c2"].map((execution) =>
      stepMessage({
        workflow,
        step: "train",
        execution,
        jobFiles: { bucket, prefix: `${workflow}/${execution}/` },
      }),
    );
    for (const m of messages) queue.send(JSON.stringify(m));
    for (const m of messages)
      while (completion.forToken(m.token).length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(messages.map((m) => completion.forToken(m.token)[0]!.kind)).toEqual(["success", "success"]);
    expect(await ran()).toBe(before + 1);
  });
});
