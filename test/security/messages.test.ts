import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { executionPrefixFormat } from "@ferry/dsl-compiler/contract";
import { LocalStackCompletion, SfnCompletion } from "@ferry/edge-agent/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shStep } from "../../edge-agent/src/testing/fixtures.ts";
import { awsClientConfig, LOCALSTACK_ACCOUNT_ID, requireLocalStack, uniqueName } from "../support/env.ts";
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
    await requireLocalStack(["stepfunctions", "sqs"]);
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

  it("forged token on LocalStack: a step without HeartbeatSeconds runs with the token its execution sent; a forged token naming that running execution is dead-lettered and nothing runs", async () => {
    // LocalStack answers a heartbeat of a task without HeartbeatSeconds with InvalidToken, forged
    // or not: LocalStackCompletion reads the execution's history instead.
    const sfn = new SFNClient(awsClientConfig());
    const sqs = new SQSClient(awsClientConfig());
    const ran = join(await mkdtemp(join(tmpdir(), "ferry-sec-history-")), "ran");
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("sec-history") })))
      .QueueUrl!;
    try {
      const machine = await sfn.send(
        new CreateStateMachineCommand({
          name: uniqueName("sec-history"),
          roleArn: `arn:aws:iam::${LOCALSTACK_ACCOUNT_ID}:role/ferry-test`,
          definition: JSON.stringify({
            StartAt: "touch",
            States: {
              touch: {
                Type: "Task",
                Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                TimeoutSeconds: 60,
                Parameters: {
                  QueueUrl: queueUrl,
                  MessageBody: {
                    v: 1,
                    "token.$": "$$.Task.Token",
                    workflow: "sec",
                    "execution.$": "$$.Execution.Id",
                    step: "touch",
                    attempt: 1,
                    input: { "input.$": "$", deps: {} },
                    jobFiles: {
                      bucket: "sec-jobs",
                      "prefix.$": `States.Format('${executionPrefixFormat("sec")}', $$.Execution.Name)`,
                    },
                  },
                },
                End: true,
              },
            },
          }),
        }),
      );
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn!, input: "{}" }),
      );
      let real: string | undefined;
      for (let i = 0; i < 10 && !real; i++) {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }));
        real = out.Messages?.[0]?.Body;
      }
      expect(real, "the execution's step message").toBeDefined();
      const { worker, queue } = await startWorker("sec", [shStep("touch", `touch ${ran}; echo "{}"`)], {
        completion: new LocalStackCompletion(sfn),
        extra: { jobBuckets: ["sec-jobs"] },
      });
      stops.push(() => worker.stop({ graceMs: 0 }));
      queue.send(JSON.stringify({ ...JSON.parse(real!), token: "AAAAforged-token" }));
      const [reason] = await deadLettered(queue, 1);
      expect(reason).toMatch(/task token was refused before the step ran: .*never sent it/);
      expect(existsSync(ran)).toBe(false);
      queue.send(real!);
      let status = "RUNNING";
      for (let i = 0; i < 300 && status === "RUNNING"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status!;
      }
      expect(status).toBe("SUCCEEDED");
      expect(existsSync(ran)).toBe(true);
      expect(queue.deadLetters).toHaveLength(1);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    }
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
    const ref = {
      ferryOutputRef: {
        bucket: "sec-jobs",
        prefix: "other/e9/",
        site: "edge",
        name: ".ferry/outputs/up/x.json",
        sizeBytes: 2,
      },
    };
    for (const fields of [
      { jobFiles: { bucket: "attacker-bucket", prefix: "sec/e1/" } },
      { jobFiles: { bucket: "sec-jobs", prefix: "sec/e2/" } },
      { execution: "../../e1", jobFiles: { bucket: "sec-jobs", prefix: "sec/../../e1/" } },
      { jobFiles: { bucket: "sec-jobs", prefix: "sec/e1/" }, input: { input: {}, deps: { up: ref } } },
      // Inside the execution, but a job file of another site rather than a stored output of "up".
      {
        jobFiles: { bucket: "sec-jobs", prefix: "sec/e1/" },
        input: {
          input: {},
          deps: {
            up: {
              ferryOutputRef: {
                bucket: "sec-jobs",
                prefix: "sec/e1/",
                site: "plant",
                name: "secrets.env",
                sizeBytes: 2,
              },
            },
          },
        },
      },
    ])
      queue.send(JSON.stringify(stepMessage({ ...base, ...fields })));
    const reasons = await deadLettered(queue, 5);
    expect(reasons).toHaveLength(5);
    expect(reasons[0]).toMatch(/jobFiles.bucket "attacker-bucket"/);
    expect(reasons[1]).toMatch(/jobFiles.prefix "sec\/e2\/"/);
    expect(reasons[2]).toMatch(/is not a Step Functions execution id/);
    expect(reasons[3]).toMatch(/input.deps.up: output reference/);
    expect(reasons[4]).toMatch(
      /input.deps.up: output reference "secrets.env" \(site "plant"\) is not a stored output/,
    );
    expect(completion.records).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });
});
