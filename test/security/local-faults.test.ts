import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3JobFileStore } from "@ferry/edge-agent/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shStep } from "../../edge-agent/src/testing/fixtures.ts";
import { awsClientConfig, requireLocalStack, uniqueName } from "../support/env.ts";
import { startWorker, stepMessage } from "./harness.ts";

// ENOSPC on a real, small tmpfs: the agent's own disk is full while it
// stages a step's input. That is no fault of the step: the message is handed
// back unanswered, and once space is free the same attempt runs and succeeds.
describe("local faults (a full disk)", () => {
  const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
  const bucket = uniqueName("ferry-sec-enospc");
  let mountPoint: string;

  beforeAll(async () => {
    await requireLocalStack(["s3"]);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    mountPoint = await mkdtemp(join(tmpdir(), "ferry-sec-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]);
  });
  afterAll(async () => {
    execFileSync("umount", [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  it("ENOSPC while staging hands the message back without charging the step, then the same attempt succeeds", async () => {
    const input = randomBytes(3 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sec/edge/full/big.bin", Body: input }));
    const store = new S3JobFileStore({ client: s3, cacheDir: join(mountPoint, "cache") });
    const outcomes: string[] = [];
    const { worker, queue, completion } = await startWorker(
      "sec",
      [
        shStep("size", 'printf \'{"bytes":%s}\\n\' "$(wc -c < "$FERRY_JOB_DIR/big.bin")"', {
          inputs: ["big.bin"],
        }),
      ],
      {
        store,
        extra: {
          workDir: join(mountPoint, "work"),
          metrics: {
            attemptStarted: () => undefined,
            attemptFinished: (outcome) => outcomes.push(outcome),
            received: () => undefined,
            heartbeatFailed: () => undefined,
            deadLettered: () => undefined,
          },
          backoff: { baseMs: 1000, maxMs: 1000 },
        },
      },
    );
    try {
      const message = stepMessage({
        workflow: "sec",
        step: "size",
        execution: "full",
        jobFiles: { bucket, prefix: "sec/full/" },
      });
      queue.send(JSON.stringify(message));
      for (let i = 0; i < 400 && !outcomes.includes("local-fault"); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(outcomes).toContain("local-fault");
      // Nothing was answered: Step Functions would not count an attempt.
      expect(completion.records).toEqual([]);
      expect(queue.deadLetters).toEqual([]);

      execFileSync("mount", ["-o", "remount,size=32m", mountPoint]);
      for (let i = 0; i < 600 && completion.records.length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(completion.records).toMatchObject([
        { kind: "success", token: message.token, output: { bytes: input.length } },
      ]);
      expect(outcomes.filter((o) => o === "failed")).toEqual([]);
    } finally {
      await worker.stop({ graceMs: 0 });
    }
  });
});
