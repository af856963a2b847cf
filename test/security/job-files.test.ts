import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3JobFileStore } from "@ferry/edge-agent/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shStep } from "../../edge-agent/src/testing/fixtures.ts";
import { awsClientConfig, requireLocalStack, uniqueName } from "../support/env.ts";
import { runMessage, startWorker, stepMessage } from "./harness.ts";

// Hostile step code against the job folder and the download cache: real
// processes, real S3 (LocalStack) and the real file system.
describe("job folders and the download cache (hostile steps)", () => {
  const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
  const bucket = uniqueName("ferry-sec-jobs");
  const secret = `AWS_SECRET_ACCESS_KEY=${randomBytes(12).toString("hex")}`;
  let secretFile: string;
  let cacheDir: string;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    await requireLocalStack(["s3"]);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const dir = await mkdtemp(join(tmpdir(), "ferry-sec-agent-"));
    secretFile = join(dir, "agent.env");
    await writeFile(secretFile, `${secret}\n`);
    cacheDir = join(dir, "cache");
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  async function worker(steps: Parameters<typeof startWorker>[1]) {
    const store = new S3JobFileStore({ client: s3, cacheDir });
    const started = await startWorker("sec", steps, { store, extra: { jobBuckets: [bucket] } });
    stops.push(() => started.worker.stop({ graceMs: 0 }));
    return { ...started, store };
  }

  const message = (step: string, execution: string) =>
    stepMessage({
      workflow: "sec",
      step,
      execution,
      jobFiles: { bucket, prefix: `sec/${execution}/` },
    });

  it("symlink exfiltration: outputs, .output.json and .error.json that link to the agent's secrets are refused and never uploaded", async () => {
    const { queue, completion } = await worker([
      shStep("leak-output", `ln -s ${secretFile} "$FERRY_JOB_DIR/out.txt"`, { outputs: ["out.txt"] }),
      shStep("leak-result", `ln -s ${secretFile} "$FERRY_JOB_DIR/.output.json"`),
      shStep("leak-cause", `ln -s ${secretFile} "$FERRY_JOB_DIR/.error.json"; exit 3`),
      shStep("leak-dir", `ln -s ${join(secretFile, "..")} "$FERRY_JOB_DIR/d"`, { outputs: ["d/agent.env"] }),
    ]);
    for (const step of ["leak-output", "leak-result", "leak-cause", "leak-dir"]) {
      const record = await runMessage(queue, completion, message(step, `x-${step}`));
      expect(JSON.stringify(record), step).not.toContain(secret);
      expect(record.kind, step).toBe("failure");
    }
    const uploaded = await s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: "sec/edge/x-leak-output/out.txt" }))
      .then(() => true)
      .catch(() => false);
    expect(uploaded).toBe(false);
  });

  it("cache poisoning: a step that rewrites its input, or a cache entry altered on disk, never changes what the next step receives", async () => {
    const original = "the real input\n";
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sec/edge/poison/in.txt", Body: original }));
    const { queue, completion } = await worker([
      shStep("poison", 'chmod u+w "$FERRY_JOB_DIR/in.txt"; echo EVIL >> "$FERRY_JOB_DIR/in.txt"; echo "{}"', {
        inputs: ["in.txt"],
      }),
      shStep("read", 'printf \'{"text":"%s"}\\n\' "$(cat "$FERRY_JOB_DIR/in.txt" | base64 | tr -d "\\n")"', {
        inputs: ["in.txt"],
      }),
    ]);
    expect((await runMessage(queue, completion, message("poison", "poison"))).kind).toBe("success");
    const read = async () => {
      const record = await runMessage(queue, completion, message("read", "poison"));
      const text = (record as { output?: { text: string } }).output?.text ?? "";
      return Buffer.from(text, "base64").toString("utf8");
    };
    expect(await read()).toBe(original);
    // Alter every cache entry behind the agent's back: the next use must notice and fetch again.
    for (const name of await readdir(cacheDir)) {
      if (!name.endsWith(".json") && !name.endsWith(".part"))
        await writeFile(join(cacheDir, name), "tampered\n");
    }
    expect(await read()).toBe(original);
  });

  it("job folder reuse: after a failed download stage the folder is never handed to another attempt", async () => {
    const big = randomBytes(4 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sec/edge/reuse/big.bin", Body: big }));
    const { queue, completion, workDir } = await worker([
      shStep("stage", 'echo "{}"', { inputs: ["big.bin", "missing.txt"] }),
      shStep("look", 'printf \'{"files":"%s"}\\n\' "$(ls -A "$FERRY_JOB_DIR" | tr "\\n" " ")"'),
    ]);
    const failed = await runMessage(queue, completion, message("stage", "reuse"));
    expect(failed.kind).toBe("failure");
    expect(JSON.stringify(failed)).toContain("missing.txt");
    // Nothing of the failed attempt is left under the work folder.
    expect(await readdir(workDir)).toEqual([]);
    const look = await runMessage(queue, completion, message("look", "reuse-next"));
    expect(look).toMatchObject({ kind: "success", output: { files: ".input.json " } });
    expect(await readFile(secretFile, "utf8")).toBe(`${secret}\n`);
  });
});
