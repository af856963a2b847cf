/**
 * Small helpers for integration tests that drive Step Functions and DynamoDB
 * in LocalStack.
 */

import type { ChildProcess } from "node:child_process";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { executionPrefixFormat } from "@ferry/dsl-compiler/contract";
import { LOCALSTACK_ACCOUNT_ID, localstackEndpoint, TEST_REGION, uniqueName } from "./env.ts";

/** A role ARN for state machines; LocalStack does not enforce IAM. */
export const TEST_ROLE_ARN = `arn:aws:iam::${LOCALSTACK_ACCOUNT_ID}:role/ferry-test`;

/** Creates a STANDARD state machine with a unique name and returns its ARN. */
export async function createStateMachine(
  sfn: SFNClient,
  prefix: string,
  definition: unknown,
): Promise<string> {
  const out = await sfn.send(
    new CreateStateMachineCommand({
      name: uniqueName(prefix),
      definition: JSON.stringify(definition),
      roleArn: TEST_ROLE_ARN,
    }),
  );
  return out.stateMachineArn!;
}

/** Starts an execution and returns its ARN. */
export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  input: unknown = {},
): Promise<string> {
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  return out.executionArn!;
}

export interface WaitForExecutionOptions {
  /** @default 30_000 */
  timeoutMs?: number;
  /** @default 100 */
  pollMs?: number;
}

/**
 * Polls an execution until it leaves RUNNING and returns its description,
 * whatever the final status; throws if it is still running after `timeoutMs`.
 */
export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  options: WaitForExecutionOptions = {},
): Promise<DescribeExecutionCommandOutput & { status: ExecutionStatus }> {
  const { timeoutMs = 30_000, pollMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status && out.status !== "RUNNING")
      return out as DescribeExecutionCommandOutput & { status: ExecutionStatus };
    if (Date.now() > deadline) {
      throw new Error(`execution ${executionArn} still RUNNING after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The last `count` history events of an execution, as JSON, for failure messages. */
export async function lastHistoryEvents(sfn: SFNClient, executionArn: string, count = 3): Promise<string> {
  const out = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: count }),
  );
  return JSON.stringify(out.events ?? [], null, 2);
}

/**
 * One DynamoDB API call (JSON protocol) against LocalStack, for tests that need
 * a table but no DynamoDB client. The request is unsigned: LocalStack reads
 * only the region and account from the Authorization header.
 */
export async function dynamoDb<T = Record<string, unknown>>(operation: string, body: unknown): Promise<T> {
  const res = await fetch(`${localstackEndpoint()}/`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": `DynamoDB_20120810.${operation}`,
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20200101/${TEST_REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`DynamoDB ${operation} failed with HTTP ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Creates an on-demand table with a string hash key `pk` and returns its name. */
export async function createKeyValueTable(prefix: string): Promise<string> {
  const tableName = uniqueName(prefix);
  await dynamoDb("CreateTable", {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  });
  return tableName;
}

/**
 * A state machine of one queue-backed Task, as a compiled workflow sends it
 * (`sqs:sendMessage.waitForTaskToken` with the step message), answered by the
 * agent under test.
 */
export async function createOneStepMachine(
  sfn: SFNClient,
  options: {
    workflow: string;
    step: string;
    queueUrl: string;
    heartbeatSeconds?: number;
    /** The job bucket the message names. @default "unused" */
    bucket?: string;
  },
): Promise<{ stateMachineArn?: string }> {
  const task = {
    Type: "Task",
    Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    ...(options.heartbeatSeconds ? { HeartbeatSeconds: options.heartbeatSeconds } : {}),
    TimeoutSeconds: 120,
    Parameters: {
      QueueUrl: options.queueUrl,
      MessageBody: {
        v: 1,
        "token.$": "$$.Task.Token",
        workflow: options.workflow,
        "execution.$": "$$.Execution.Id",
        step: options.step,
        attempt: 1,
        input: { "input.$": "$", deps: {} },
        // What a compiled state machine sends: the execution's own `<workflow>/<execution name>/` prefix.
        jobFiles: {
          bucket: options.bucket ?? "unused",
          "prefix.$": `States.Format('${executionPrefixFormat(options.workflow)}', $$.Execution.Name)`,
        },
      },
    },
    End: true,
  };
  return sfn.send(
    new CreateStateMachineCommand({
      name: uniqueName(options.workflow),
      roleArn: TEST_ROLE_ARN,
      definition: JSON.stringify({ StartAt: options.step, States: { [options.step]: task } }),
    }),
  );
}

/**
 * Runs one execution of a {@link createOneStepMachine} machine answered by
 * `agent` (a child process whose output is kept for the failure message):
 * starts it with `input` and polls until it ends or the agent exits (bounded
 * to 600 polls). Returns the final description and the agent's output.
 */
export async function runOneStep(
  sfn: SFNClient,
  agent: ChildProcess,
  machine: Parameters<typeof createOneStepMachine>[1] & { input: unknown },
): Promise<{ described: DescribeExecutionCommandOutput; log: () => string }> {
  let log = "";
  agent.stdout?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  agent.stderr?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  const { stateMachineArn } = await createOneStepMachine(sfn, machine);
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: stateMachineArn!, input: JSON.stringify(machine.input) }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  for (let i = 0; i < 600 && described.status === "RUNNING" && agent.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  }
  return { described, log: () => log };
}
