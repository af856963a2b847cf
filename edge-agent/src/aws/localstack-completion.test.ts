import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskHeartbeatCommand,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import type { StepMessage } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { stepMessage } from "../testing/fixtures.ts";
import { LocalStackCompletion } from "./localstack-completion.ts";

const ROOT = "arn:aws:states:us-east-1:000000000000:execution:wf-machine:run-1";
const CHILD = "arn:aws:states:us-east-1:000000000000:execution:wf-machine-child-1:run-1-child";

function scheduled(body: Partial<StepMessage>, asString = false): HistoryEvent {
  const MessageBody = asString ? JSON.stringify(body) : body;
  return {
    type: "TaskScheduled",
    id: 2,
    timestamp: new Date(),
    taskScheduledEventDetails: {
      resourceType: "sqs",
      resource: "sendMessage.waitForTaskToken",
      region: "us-east-1",
      parameters: JSON.stringify({ QueueUrl: "http://queue", MessageBody }),
    },
  };
}

function closing(type: "ExecutionAborted" | "ExecutionSucceeded"): HistoryEvent {
  return { type, id: 9, timestamp: new Date() };
}

function childStarted(executionArn: string): HistoryEvent {
  return {
    type: "TaskSubmitted",
    id: 3,
    timestamp: new Date(),
    taskSubmittedEventDetails: {
      resourceType: "states",
      resource: "startExecution.sync:2",
      output: JSON.stringify({ ExecutionArn: executionArn, StartDate: 1 }),
    },
  };
}

/** A Step Functions client answering from fixed histories (newest event first); records what was called. */
function fakeSfn(executions: Record<string, HistoryEvent[]>, deny = false) {
  const calls: string[] = [];
  const client = {
    send: async (command: unknown) => {
      calls.push((command as object).constructor.name);
      if (deny && !(command instanceof SendTaskHeartbeatCommand))
        throw Object.assign(new Error("not allowed"), { name: "AccessDeniedException" });
      if (command instanceof GetExecutionHistoryCommand) {
        const events = executions[command.input.executionArn!];
        if (!events) throw Object.assign(new Error("no such execution"), { name: "ExecutionDoesNotExist" });
        return { events };
      }
      if (command instanceof SendTaskHeartbeatCommand)
        throw Object.assign(new Error("Invalid token"), { name: "InvalidToken" });
      throw new Error(`unexpected ${calls.at(-1)}`);
    },
  } as unknown as SFNClient;
  return { client, calls };
}

const message = (fields: Partial<StepMessage> = {}) =>
  stepMessage({ workflow: "wf", step: "work", execution: ROOT, token: "real-token", ...fields });

describe("LocalStackCompletion token check (the execution's history, not a heartbeat)", () => {
  it("given a token the running execution sent for this step, then it is live, and no heartbeat was sent", async () => {
    const { client, calls } = fakeSfn({
      [ROOT]: [scheduled({ token: "real-token", workflow: "wf", step: "work" })],
    });
    expect(await new LocalStackCompletion(client).checkToken(message())).toEqual({ kind: "live" });
    expect(calls).not.toContain("SendTaskHeartbeatCommand");
  });

  it("given a message body sent as a string, or a step of a child state machine, then the token is found (a closed child's is gone)", async () => {
    const { client } = fakeSfn({
      [ROOT]: [scheduled({ token: "t-root", workflow: "wf", step: "a" }, true), childStarted(CHILD)],
      [CHILD]: [scheduled({ token: "t-child", workflow: "wf", step: "b" }), childStarted(`${CHILD}-done`)],
      [`${CHILD}-done`]: [
        closing("ExecutionSucceeded"),
        scheduled({ token: "t-done", workflow: "wf", step: "c" }),
      ],
    });
    const completion = new LocalStackCompletion(client);
    expect(await completion.checkToken(message({ token: "t-root", step: "a" }))).toEqual({ kind: "live" });
    expect(await completion.checkToken(message({ token: "t-child", step: "b" }))).toEqual({ kind: "live" });
    expect(await completion.checkToken(message({ token: "t-done", step: "c" }))).toMatchObject({
      kind: "gone",
      reason: expect.stringContaining("child execution is SUCCEEDED"),
    });
  });

  it("given a forged token, another step's token or an execution that does not exist, then it is refused", async () => {
    const { client } = fakeSfn({
      [ROOT]: [scheduled({ token: "real-token", workflow: "wf", step: "other" })],
    });
    const completion = new LocalStackCompletion(client);
    expect(await completion.checkToken(message({ token: "forged" }))).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/refused before the step ran: .*never sent it/),
    });
    expect(await completion.checkToken(message())).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining('issued it for step "other"'),
    });
    expect(
      await completion.checkToken(message({ execution: `${ROOT}-nope`, token: "real-token" })),
    ).toMatchObject({ kind: "refused", reason: expect.stringContaining("does not exist") });
  });

  it("given a closed execution, then its late message is gone (dropped, not dead-lettered)", async () => {
    const { client } = fakeSfn({
      [ROOT]: [closing("ExecutionAborted"), scheduled({ token: "real-token", workflow: "wf", step: "work" })],
    });
    expect(await new LocalStackCompletion(client).checkToken(message())).toMatchObject({
      kind: "gone",
      reason: expect.stringContaining("ABORTED"),
    });
  });

  it("given an endpoint that denies history reads, then the check falls back to the heartbeat", async () => {
    const { client, calls } = fakeSfn({}, true);
    expect(await new LocalStackCompletion(client).checkToken(message())).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining("InvalidToken"),
    });
    expect(calls).toContain("SendTaskHeartbeatCommand");
  });

  it("given a running Distributed Map of the message's step, then an item's token is live; another step's is refused", async () => {
    const mapRun = (label: string): HistoryEvent => ({
      type: "MapRunStarted",
      id: 4,
      timestamp: new Date(),
      mapRunStartedEventDetails: {
        mapRunArn: `arn:aws:states:us-east-1:000000000000:mapRun:wf-machine/${label}:0b5e7a3c`,
      },
    });
    const { client } = fakeSfn({ [ROOT]: [mapRun("work")] });
    const completion = new LocalStackCompletion(client);
    expect(await completion.checkToken(message({ token: "item-token" }))).toEqual({ kind: "live" });
    expect(await completion.checkToken(message({ token: "item-token", step: "other" }))).toMatchObject({
      kind: "refused",
    });
    const ended = fakeSfn({ [ROOT]: [closing("ExecutionSucceeded"), mapRun("work")] });
    expect(await new LocalStackCompletion(ended.client).checkToken(message())).toMatchObject({
      kind: "gone",
    });
  });
});
