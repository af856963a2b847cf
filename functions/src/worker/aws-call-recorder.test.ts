import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendTaskHeartbeatCommand, SFNClient } from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { describeCall, queueArnOfUrl, recordAwsCalls, withAwsCallContext } from "./aws-call-recorder.ts";

describe("describeCall", () => {
  it("authorizes KMS key calls against the key's ARN", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/k-1";
    expect(describeCall("kms", "GetPublicKeyCommand", { KeyId: arn }, "eu-west-1")).toEqual({
      action: "kms:GetPublicKey",
      resource: arn,
    });
  });

  it("authorizes step cache calls against the table's ARN", () => {
    expect(describeCall("dynamodb", "GetItemCommand", { TableName: "Cache" }, "eu-west-1")).toEqual({
      action: "dynamodb:GetItem",
      resource: "arn:aws:dynamodb:eu-west-1:*:table/Cache",
    });
    const arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/Cache";
    expect(describeCall("dynamodb", "PutItemCommand", { TableName: arn }, "eu-west-1")).toEqual({
      action: "dynamodb:PutItem",
      resource: arn,
    });
  });

  it("maps S3 commands to the actions IAM authorizes", () => {
    expect(describeCall("s3", "HeadObjectCommand", { Bucket: "b", Key: "wf/x/a.txt" }, "eu-west-1")).toEqual({
      action: "s3:GetObject",
      resource: "arn:aws:s3:::b/wf/x/a.txt",
    });
    expect(describeCall("s3", "ListObjectsV2Command", { Bucket: "b", Prefix: "wf/" }, "r")).toEqual({
      action: "s3:ListBucket",
      resource: "arn:aws:s3:::b",
      prefix: "wf/",
    });
  });

  it("names queues by ARN, from a URL or a name and owner", () => {
    expect(
      describeCall(
        "sqs",
        "ReceiveMessageCommand",
        { QueueUrl: "http://localhost:4566/000000000000/q1" },
        "us-east-1",
      ),
    ).toEqual({ action: "sqs:ReceiveMessage", resource: "arn:aws:sqs:us-east-1:000000000000:q1" });
    expect(
      describeCall(
        "sqs",
        "GetQueueUrlCommand",
        { QueueName: "dlq", QueueOwnerAWSAccountId: "1" },
        "eu-west-1",
      ),
    ).toEqual({ action: "sqs:GetQueueUrl", resource: "arn:aws:sqs:eu-west-1:1:dlq" });
    expect(queueArnOfUrl("https://sqs.ap-south-1.amazonaws.com/123456789012/q", "us-east-1")).toBe(
      "arn:aws:sqs:ap-south-1:123456789012:q",
    );
  });

  it("evaluates task-token calls against *", () => {
    expect(describeCall("states", "SendTaskSuccessCommand", { taskToken: "t" }, "r")).toEqual({
      action: "states:SendTaskSuccess",
      resource: "*",
    });
  });
});

describe("recordAwsCalls", () => {
  it("installs nothing without the environment variable", () => {
    const client = new SFNClient({ region: "us-east-1" });
    const before = client.middlewareStack.identify().length;
    recordAwsCalls(client, { kind: "agent", site: "lab" }, {});
    expect(client.middlewareStack.identify()).toHaveLength(before);
    client.destroy();
  });

  it("writes one line per call, failed calls included, with the step of the surrounding context", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "ferry-record-")), "calls.jsonl");
    // Nothing listens on port 9 of the loopback interface: the call fails after the middleware ran.
    const client = recordAwsCalls(
      new SFNClient({
        region: "us-east-1",
        endpoint: "http://127.0.0.1:9",
        credentials: { accessKeyId: "a", secretAccessKey: "b" },
        maxAttempts: 1,
      }),
      { kind: "agent", site: "lab" },
      { FERRY_RECORD_AWS_CALLS: file },
    );
    await withAwsCallContext({ step: "train" }, () =>
      client.send(new SendTaskHeartbeatCommand({ taskToken: "t" })).catch(() => undefined),
    );
    client.destroy();
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as object);
    expect(lines).toEqual([
      expect.objectContaining({
        kind: "agent",
        site: "lab",
        step: "train",
        action: "states:SendTaskHeartbeat",
        command: "SendTaskHeartbeatCommand",
        resource: "*",
        error: expect.any(String),
      }),
    ]);
  });
});
