import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { main } from "@ferry/cli";
import { type Agent, createAgent, loadAgentConfig } from "@ferry/edge-agent";
import { SqsQueue } from "@ferry/edge-agent/aws";
import { describeQueueContract, manifestOf, shStep } from "@ferry/edge-agent/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, localstackEndpoint, requireLocalStack, uniqueName } from "./support/env.ts";
import { createOneStepMachine } from "./support/localstack.ts";

// The agent's AWS adapters against LocalStack: the queue contract on real
// SQS, and a real Step Functions task token answered by a running agent.
const sqs = new SQSClient(awsClientConfig());

beforeAll(async () => {
  await requireLocalStack(["sqs", "stepfunctions", "s3"]);
  // Agents take credentials from the SDK's default chain, as on a device.
  process.env.AWS_ACCESS_KEY_ID ??= awsClientConfig().credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= awsClientConfig().credentials.secretAccessKey;
});

async function queueWithDlq(prefix: string): Promise<{ url: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName(`${prefix}-dlq`) }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ["QueueArn"] }))
  ).Attributes!.QueueArn!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: uniqueName(prefix),
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
    }),
  );
  return { url: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

async function drain(url: string): Promise<string[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (out.Messages ?? []).map((m) => m.Body!);
}

describeQueueContract("SQS (LocalStack)", async () => {
  const { url, dlqUrl } = await queueWithDlq("agent-contract");
  return {
    queue: new SqsQueue({ client: sqs, queueUrl: url }),
    send: async (body) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    },
    deadLetters: () => drain(dlqUrl),
    close: async () => {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl }));
    },
  };
});

describe("agent on SQS + Step Functions (LocalStack)", () => {
  const sfn = new SFNClient(awsClientConfig());
  let agent: Agent;
  let queue: { url: string; dlqUrl: string };
  const bucket = uniqueName("ferry-agent-jobs");

  beforeAll(async () => {
    queue = await queueWithDlq("agent-site");
    await new S3Client({ ...awsClientConfig(), forcePathStyle: true }).send(
      new CreateBucketCommand({ Bucket: bucket }),
    );
    const dir = await mkdtemp(join(tmpdir(), "ferry-agent-sqs-"));
    const manifestPath = join(dir, "manifest.json");
    await writeFile(
      manifestPath,
      JSON.stringify(
        manifestOf("agent-e2e", [
          shStep("hello", 'read -r input; echo "{\\"got\\":$input}"', { site: "lab", heartbeatSeconds: 30 }),
        ]),
      ),
    );
    const config = await loadAgentConfig({
      argv: ["--site", "lab", "--queue-url", queue.url, "--manifest", manifestPath, "--runtime", "process"],
      env: {
        AWS_ENDPOINT_URL: localstackEndpoint(),
        AWS_REGION: awsClientConfig().region,
        FERRY_WORK_DIR: join(dir, "work"),
        FERRY_METRICS_PORT: "0",
      },
      cwd: dir,
    });
    agent = createAgent(config, { logger: pino({ level: process.env.FERRY_TEST_LOG ?? "silent" }) });
    await agent.start();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("answers a real task token: the execution succeeds with the step's output", async () => {
    const machine = await createOneStepMachine(sfn, {
      workflow: "agent-e2e",
      step: "hello",
      queueUrl: queue.url,
      heartbeatSeconds: 30,
      bucket,
    });
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machine.stateMachineArn!,
        input: JSON.stringify({ n: 7 }),
      }),
    );
    let status = "RUNNING";
    let output: string | undefined;
    for (let i = 0; i < 300 && status === "RUNNING"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      status = d.status!;
      output = d.output;
    }
    expect(status).toBe("SUCCEEDED");
    expect(JSON.parse(output!)).toEqual({ got: { input: { n: 7 }, deps: {} } });
  });

  it("dead-letters poison messages with a reason and keeps serving", async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "{not json" }));
    let letters: string[] = [];
    for (let i = 0; i < 20 && letters.length === 0; i++) letters = await drain(queue.dlqUrl);
    expect(letters).toEqual(["{not json"]);
    const health = await fetch(`http://127.0.0.1:${agent.metricsPort}/healthz`).catch(() => undefined);
    expect(health).toBeUndefined();
  });
});

describe("ferry agent drains on SIGTERM (LocalStack)", () => {
  const sfn = new SFNClient(awsClientConfig());

  it("hands a step still running after the grace period back as Ferry.AgentShutdown", async () => {
    const queue = await queueWithDlq("agent-drain");
    const dir = await mkdtemp(join(tmpdir(), "ferry-agent-drain-"));
    const manifestPath = join(dir, "manifest.json");
    await writeFile(
      manifestPath,
      JSON.stringify(
        manifestOf("agent-drain", [shStep("nap", "sleep 60", { site: "lab", timeoutSeconds: 120 })]),
      ),
    );
    const machine = await createOneStepMachine(sfn, {
      workflow: "agent-drain",
      step: "nap",
      queueUrl: queue.url,
    });
    const sigterm = new AbortController();
    const stderr: string[] = [];
    const exit = main(
      [
        "agent",
        "--site",
        "lab",
        "--queue-url",
        queue.url,
        "--manifest",
        manifestPath,
        "--runtime",
        "process",
      ],
      {
        stdout: () => undefined,
        stderr: (t) => stderr.push(t),
        cwd: dir,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: localstackEndpoint(),
          AWS_REGION: awsClientConfig().region,
          FERRY_WORK_DIR: join(dir, "work"),
          FERRY_METRICS_PORT: "0",
          FERRY_SHUTDOWN_GRACE_SECONDS: "1",
          FERRY_LOG_LEVEL: process.env.FERRY_TEST_LOG ?? "silent",
        },
        isTTY: false,
        signal: sigterm.signal,
      },
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn!, input: "{}" }),
    );
    // Once the agent has received the step (its message in flight) and started it, send "SIGTERM".
    // Waiting on the queue, not a fixed time: on a loaded machine the agent may start slowly.
    for (;;) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      if (Number(Attributes?.ApproximateNumberOfMessagesNotVisible) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500));
    sigterm.abort();
    expect(await exit).toBe(0);
    let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    for (let i = 0; i < 100 && described.status === "RUNNING"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }
    expect(stderr).toEqual([]);
    expect(described).toMatchObject({ status: "FAILED", error: "Ferry.AgentShutdown" });
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
  });
});

describe("a task Step Functions timed out (LocalStack)", () => {
  const sfn = new SFNClient(awsClientConfig());

  it("is stopped when its heartbeat is refused, and nothing is reported", async () => {
    const queue = await queueWithDlq("agent-gone");
    const dir = await mkdtemp(join(tmpdir(), "ferry-agent-gone-"));
    const manifestPath = join(dir, "manifest.json");
    await writeFile(
      manifestPath,
      JSON.stringify(
        manifestOf("agent-gone", [shStep("stuck", "sleep 60", { site: "lab", timeoutSeconds: 120 })]),
      ),
    );
    // The state allows 2 s between heartbeats; this agent only beats every 3 s.
    const config = await loadAgentConfig({
      argv: ["--site", "lab", "--queue-url", queue.url, "--manifest", manifestPath, "--runtime", "process"],
      env: {
        AWS_ENDPOINT_URL: localstackEndpoint(),
        AWS_REGION: awsClientConfig().region,
        FERRY_WORK_DIR: join(dir, "work"),
        FERRY_METRICS_PORT: "0",
        FERRY_HEARTBEAT_INTERVAL_SECONDS: "3",
      },
      cwd: dir,
    });
    const agent = createAgent(config, { logger: pino({ level: process.env.FERRY_TEST_LOG ?? "silent" }) });
    await agent.start();
    try {
      const machine = await createOneStepMachine(sfn, {
        workflow: "agent-gone",
        step: "stuck",
        queueUrl: queue.url,
        heartbeatSeconds: 2,
      });
      const started = Date.now();
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn!, input: "{}" }),
      );
      let gone = 0;
      while (gone === 0 && Date.now() - started < 20_000) {
        await new Promise((r) => setTimeout(r, 200));
        const metric = await agent.metrics.registry.getSingleMetricAsString("ferry_agent_tasks_total");
        gone = Number(/outcome="task-gone"} (\d+)/.exec(metric)?.[1] ?? 0);
      }
      expect(gone).toBe(1);
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe("FAILED");
      expect(described.error).toMatch(/Timeout/);
    } finally {
      await agent.stop();
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
    }
  });
});
