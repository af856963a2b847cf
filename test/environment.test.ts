// The test environment itself: a real Docker Engine that runs the local test
// image with no network, and a real LocalStack whose Step Functions, SQS and
// DynamoDB support what Ferry's compiled state machines use (waitForTaskToken
// through SQS, DynamoDB join records, SDK integrations, Map, Parallel and
// nested executions). A missing service fails here with the command that
// starts it.
import { PassThrough } from "node:stream";
import { DescribeExecutionCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  awsClientConfig,
  dockerSocket,
  LOCALSTACK_SERVICES,
  localstackEndpoint,
  requireDocker,
  requireLocalStack,
  requireTestImage,
  TEST_IMAGE,
  uniqueName,
} from "./support/env.ts";
import {
  createKeyValueTable,
  createStateMachine,
  dynamoDb,
  lastHistoryEvents,
  startExecution,
  waitForExecution,
} from "./support/localstack.ts";

/** Runs `cmd` in the test image with no network; returns exit code and stdout. */
async function runInTestImage(docker: Docker, cmd: string[]): Promise<{ exitCode: number; stdout: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  const [result, container] = (await docker.run(TEST_IMAGE, cmd, [stdout, stderr], {
    Tty: false,
    HostConfig: { NetworkMode: "none" },
  })) as [{ StatusCode: number }, Docker.Container];
  await container.remove({ force: true });
  return { exitCode: result.StatusCode, stdout: out };
}

describe("Docker engine", () => {
  const docker = new Docker({ socketPath: dockerSocket() });

  it("answers on its unix socket", async () => {
    const version = await requireDocker();
    expect(version.Os).toBe("linux");
    expect(version.ApiVersion).toMatch(/^1\.\d+$/);
    await expect(docker.ping()).resolves.toBeTruthy();
  });

  it("runs the locally built test image with --network none", async () => {
    await requireTestImage();
    const run = await runInTestImage(docker, ["sh", "-c", "echo ok; ls /sys/class/net; id -u"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual(["ok", "lo", "0"]);
  });

  it("reports a failing command's exit code", async () => {
    await requireTestImage();
    const run = await runInTestImage(docker, ["sh", "-c", "echo partial; exit 3"]);
    expect(run).toEqual({ exitCode: 3, stdout: "partial\n" });
  });
});

describe("LocalStack", () => {
  const sqs = new SQSClient(awsClientConfig());
  const sfn = new SFNClient(awsClientConfig());
  const queues: string[] = [];

  beforeAll(async () => {
    await requireLocalStack();
  });

  afterAll(async () => {
    await Promise.all(queues.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
    sqs.destroy();
    sfn.destroy();
  });

  async function createQueue(prefix: string): Promise<string> {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName(prefix) }));
    queues.push(out.QueueUrl!);
    return out.QueueUrl!;
  }

  async function receiveOne(queueUrl: string): Promise<{ body: string; receiptHandle: string }> {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 1 }),
    );
    const message = out.Messages?.[0];
    if (!message?.Body || !message.ReceiptHandle) throw new Error(`no message on ${queueUrl} within 10 s`);
    return { body: message.Body, receiptHandle: message.ReceiptHandle };
  }

  async function expectSucceeded(executionArn: string): Promise<unknown> {
    const out = await waitForExecution(sfn, executionArn);
    if (out.status !== "SUCCEEDED") {
      throw new Error(
        `execution ended ${out.status}; last events: ${await lastHistoryEvents(sfn, executionArn)}`,
      );
    }
    return JSON.parse(out.output ?? "null");
  }

  it("is version 4.14.0 with every service Ferry's tests use", async () => {
    const health = await requireLocalStack();
    expect(health.version).toBe("4.14.0");
    for (const service of LOCALSTACK_SERVICES) {
      expect(["available", "running"]).toContain(health.services[service]);
    }
  });

  it("round-trips an SQS message on a loopback queue URL", async () => {
    const queueUrl = await createQueue("env-sqs");
    expect(queueUrl.startsWith(`${localstackEndpoint()}/`)).toBe(true);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ v: 1 }) }));
    const message = await receiveOne(queueUrl);
    expect(JSON.parse(message.body)).toEqual({ v: 1 });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.receiptHandle }));
  });

  it("runs a Step Functions Pass state to SUCCEEDED", async () => {
    const arn = await createStateMachine(sfn, "env-pass", {
      StartAt: "Pass",
      States: { Pass: { Type: "Pass", Result: { ok: true }, End: true } },
    });
    expect(await expectSucceeded(await startExecution(sfn, arn))).toEqual({ ok: true });
  });

  it("delivers a task token through sqs:sendMessage.waitForTaskToken and resumes on SendTaskSuccess", async () => {
    const queueUrl = await createQueue("env-wftt");
    const arn = await createStateMachine(sfn, "env-wftt", {
      StartAt: "Step",
      States: {
        Step: {
          Type: "Task",
          Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
          Parameters: { QueueUrl: queueUrl, MessageBody: { "token.$": "$$.Task.Token", "input.$": "$" } },
          HeartbeatSeconds: 60,
          End: true,
        },
      },
    });
    const executionArn = await startExecution(sfn, arn, { n: 1 });
    const message = JSON.parse((await receiveOne(queueUrl)).body) as { token: string; input: unknown };
    expect(message.input).toEqual({ n: 1 });
    expect(message.token).toEqual(expect.any(String));
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: message.token, output: JSON.stringify({ done: 1 }) }),
    );
    expect(await expectSucceeded(executionArn)).toEqual({ done: 1 });
  });

  it("supports the DynamoDB and SFN SDK integrations used for joins", async () => {
    const table = await createKeyValueTable("env-join");
    // The waiting side parks its task token in a join record...
    const waiter = await createStateMachine(sfn, "env-join-wait", {
      StartAt: "Park",
      States: {
        Park: {
          Type: "Task",
          Resource: "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken",
          Parameters: {
            TableName: table,
            Key: { pk: { S: "join#1" } },
            UpdateExpression: "SET taskToken = :token ADD arrived :one",
            ExpressionAttributeValues: { ":token": { "S.$": "$$.Task.Token" }, ":one": { N: "1" } },
          },
          End: true,
        },
      },
    });
    const waiting = await startExecution(sfn, waiter);
    let record: { Item?: { taskToken?: { S: string }; arrived?: { N: string } } } = {};
    for (let i = 0; i < 100 && !record.Item?.taskToken; i++) {
      record = await dynamoDb("GetItem", {
        TableName: table,
        Key: { pk: { S: "join#1" } },
        ConsistentRead: true,
      });
      if (record.Item?.taskToken) break;
      const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: waiting }));
      if (status !== "RUNNING") {
        throw new Error(`waiter ended ${status}; last events: ${await lastHistoryEvents(sfn, waiting)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(record.Item?.arrived).toEqual({ N: "1" });

    // ...and the arriving side reads it and releases the waiter.
    const releaser = await createStateMachine(sfn, "env-join-release", {
      StartAt: "Read",
      States: {
        Read: {
          Type: "Task",
          Resource: "arn:aws:states:::aws-sdk:dynamodb:getItem",
          Parameters: { TableName: table, Key: { pk: { S: "join#1" } }, ConsistentRead: true },
          ResultSelector: { "token.$": "$.Item.taskToken.S" },
          Next: "Release",
        },
        Release: {
          Type: "Task",
          Resource: "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
          Parameters: { "TaskToken.$": "$.token", Output: JSON.stringify({ joined: true }) },
          End: true,
        },
      },
    });
    await expectSucceeded(await startExecution(sfn, releaser));
    expect(await expectSucceeded(waiting)).toEqual({ joined: true });
  });

  it("runs Parallel, inline and distributed Map, and startExecution.sync:2", async () => {
    const child = await createStateMachine(sfn, "env-child", {
      StartAt: "Child",
      States: { Child: { Type: "Pass", Parameters: { "doubled.$": "States.MathAdd($.n, $.n)" }, End: true } },
    });
    const parent = await createStateMachine(sfn, "env-parent", {
      StartAt: "Fork",
      States: {
        Fork: {
          Type: "Parallel",
          Branches: [
            { StartAt: "A", States: { A: { Type: "Pass", Result: "a", End: true } } },
            { StartAt: "B", States: { B: { Type: "Pass", Result: "b", End: true } } },
          ],
          ResultPath: "$.branches",
          Next: "Each",
        },
        Each: {
          Type: "Map",
          ItemsPath: "$.items",
          MaxConcurrency: 2,
          ItemProcessor: {
            ProcessorConfig: { Mode: "INLINE" },
            StartAt: "Item",
            States: { Item: { Type: "Pass", End: true } },
          },
          ResultPath: "$.inline",
          Next: "EachDistributed",
        },
        EachDistributed: {
          Type: "Map",
          ItemsPath: "$.items",
          ItemProcessor: {
            ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
            StartAt: "Item",
            States: { Item: { Type: "Pass", End: true } },
          },
          ResultPath: "$.distributed",
          Next: "Nested",
        },
        Nested: {
          Type: "Task",
          Resource: "arn:aws:states:::states:startExecution.sync:2",
          Parameters: { StateMachineArn: child, Input: { n: 21 } },
          ResultSelector: { "output.$": "$.Output", "status.$": "$.Status" },
          ResultPath: "$.nested",
          End: true,
        },
      },
    });
    expect(await expectSucceeded(await startExecution(sfn, parent, { items: [1, 2, 3] }))).toEqual({
      items: [1, 2, 3],
      branches: ["a", "b"],
      inline: [1, 2, 3],
      distributed: [1, 2, 3],
      nested: { output: { doubled: 42 }, status: "SUCCEEDED" },
    });
  });
});
