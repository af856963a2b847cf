import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SfnCompletion } from "@ferry/edge-agent/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shStep } from "../../edge-agent/src/testing/fixtures.ts";
import { awsClientConfig, requireLocalStack } from "../support/env.ts";
import { startWorker, stepMessage } from "./harness.ts";

const arn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:sec-machine:${name}`;

async function deadLettered(queue: { deadLetters: { reason: string }[] }, count: number): Promise<string[]> {
  for (let i = 0; i < 600 && queue.deadLetters.length < count; i++)
    await new Promise((r) => setTimeout(r, 50));
  return queue.deadLetters.map((d) => d.reason);
}

// Hostile queue messages: whoever can send to the queue chooses the token,
// the bucket, the prefix and the references, never what may run.
describe("queue messages (hostile sender)", () => {
  let marker: string;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    await requireLocalStack(["stepfunctions"]);
    marker = join(await mkdtemp(join(tmpdir(), "ferry-sec-msg-")), "ran");
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it("forged token: the first heartbeat is refused by Step Functions, the message is dead-lettered with the reason and nothing runs", async () => {
    const completion = new SfnCompletion(new SFNClient(awsClientConfig()));
    const { worker, queue } = await startWorker("sec", [shStep("touch", `touch ${marker}; echo "{}"`)], {
      completion,
    });
    stops.push(() => worker.stop({ graceMs: 0 }));
    const forged = stepMessage({
      workflow: "sec",
      step: "touch",
      execution: arn("forged"),
      token: "AAAAforged-token",
    });
    queue.send(JSON.stringify(forged));
    const [reason] = await deadLettered(queue, 1);
    expect(reason).toMatch(/task token was refused before the step ran: .*InvalidToken/);
    expect(existsSync(marker)).toBe(false);
  });

  it("foreign bucket or prefix: another bucket, another execution's prefix, a malformed execution id and an outside reference are all dead-lettered and nothing runs", async () => {
    const { worker, queue, completion } = await startWorker(
      "sec",
      [shStep("touch", `touch ${marker}; echo "{}"`)],
      {
        extra: { jobBuckets: ["sec-jobs"] },
      },
    );
    stops.push(() => worker.stop({ graceMs: 0 }));
    const base = { workflow: "sec", step: "touch", execution: arn("e1") };
    const ref = { ferryOutputRef: { bucket: "sec-jobs", prefix: "other/e9/", name: "x.json", sizeBytes: 2 } };
    for (const fields of [
      { jobFiles: { bucket: "attacker-bucket", prefix: "sec/e1/" } },
      { jobFiles: { bucket: "sec-jobs", prefix: "sec/e2/" } },
      { execution: "../../e1", jobFiles: { bucket: "sec-jobs", prefix: "sec/../../e1/" } },
      { jobFiles: { bucket: "sec-jobs", prefix: "sec/e1/" }, input: { input: {}, deps: { up: ref } } },
    ])
      queue.send(JSON.stringify(stepMessage({ ...base, ...fields })));
    const reasons = await deadLettered(queue, 4);
    expect(reasons).toHaveLength(4);
    expect(reasons[0]).toMatch(/jobFiles.bucket "attacker-bucket"/);
    expect(reasons[1]).toMatch(/jobFiles.prefix "sec\/e2\/"/);
    expect(reasons[2]).toMatch(/is not a Step Functions execution id/);
    expect(reasons[3]).toMatch(/input.deps.up: output reference/);
    expect(completion.records).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });
});
