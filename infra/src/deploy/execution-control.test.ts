import {
  ExecutionDoesNotExist,
  ExecutionLimitExceeded,
  ExecutionNotRedrivable,
  type HistoryEvent,
  SFNServiceException,
} from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { DeployError } from "./deploy-error.ts";
import { hasEnded, openTaskTokens, redriveRefusal, stopRefusal } from "./execution-control.ts";

const ARN = "arn:aws:states:us-east-1:123456789012:execution:wf-root:run-1";
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const stopDate = new Date("2026-05-01T10:00:00.000Z");

describe("hasEnded", () => {
  it("is false while running or pending redrive, true after any end", () => {
    expect(hasEnded({ status: "RUNNING" })).toBe(false);
    expect(hasEnded({ status: "PENDING_REDRIVE" })).toBe(false);
    for (const status of ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const) {
      expect(hasEnded({ status })).toBe(true);
    }
  });

  it("after a redrive, does not count the end before it", () => {
    expect(hasEnded({ status: "FAILED" }, 1)).toBe(false);
    expect(hasEnded({ status: "FAILED", redriveCount: 0 }, 1)).toBe(false);
    expect(hasEnded({ status: "SUCCEEDED", redriveCount: 1 }, 1)).toBe(true);
  });
});

describe("stopRefusal", () => {
  it("lets a running execution be stopped", () => {
    expect(stopRefusal(ARN, { status: "RUNNING" })).toBeUndefined();
    expect(stopRefusal(ARN, { status: "PENDING_REDRIVE" })).toBeUndefined();
  });

  it("refuses an ended execution, naming it, how it ended and what to do", () => {
    const failed = stopRefusal(ARN, { status: "FAILED", stopDate })!;
    expect(failed).toBeInstanceOf(DeployError);
    expect(failed.code).toBe("EXECUTION_ENDED");
    expect(failed.message).toBe(
      `execution ${ARN} already ended (FAILED at 2026-05-01T10:00:00.000Z); there is nothing to stop: ferry status ${ARN} shows how it ended; ferry redrive ${ARN} restarts it from the failed steps`,
    );
    const succeeded = stopRefusal(ARN, { status: "SUCCEEDED", stopDate })!;
    expect(succeeded.message).toContain("already ended (SUCCEEDED at 2026-05-01T10:00:00.000Z)");
    expect(succeeded.message).not.toContain("redrive");
  });
});

describe("redriveRefusal", () => {
  const notRedrivable = new ExecutionNotRedrivable({ message: "Execution is not redrivable", ...meta(400) });

  it("says a running execution must end or be stopped first", () => {
    const error = redriveRefusal(ARN, notRedrivable, { status: "RUNNING" }) as DeployError;
    expect(error.code).toBe("NOT_REDRIVABLE");
    expect(error.message).toBe(
      `execution ${ARN} was not redriven: ExecutionNotRedrivable (HTTP 400): Execution is not redrivable; it is still RUNNING; only a FAILED, ABORTED or TIMED_OUT execution can be redriven: wait for it to end (ferry status ${ARN}) or stop it (ferry stop ${ARN}) first`,
    );
  });

  it("says a succeeded execution has nothing to redrive", () => {
    const error = redriveRefusal(ARN, notRedrivable, { status: "SUCCEEDED" }) as DeployError;
    expect(error.code).toBe("NOT_REDRIVABLE");
    expect(error.message).toContain("ExecutionNotRedrivable (HTTP 400)");
    expect(error.message).toContain("it SUCCEEDED, so there is nothing to redrive; start a new execution");
  });

  it("passes on Step Functions' reason for an execution past the redrive limits", () => {
    const error = redriveRefusal(ARN, notRedrivable, {
      status: "FAILED",
      stopDate,
      redriveStatusReason: "Execution is past the 14-day redrive window.",
    }) as DeployError;
    expect(error.message).toBe(
      `execution ${ARN} was not redriven: ExecutionNotRedrivable (HTTP 400): Execution is not redrivable; it is FAILED at 2026-05-01T10:00:00.000Z and Execution is past the 14-day redrive window; start a new execution instead (ferry start <spec|workflow> --input ...)`,
    );
  });

  it("maps an unknown execution and the execution limit", () => {
    const missing = redriveRefusal(
      ARN,
      new ExecutionDoesNotExist({ message: "Execution Does Not Exist", ...meta(400) }),
    ) as DeployError;
    expect(missing.code).toBe("EXECUTION_NOT_FOUND");
    expect(missing.message).toContain("check the execution ARN");
    const limit = redriveRefusal(ARN, new ExecutionLimitExceeded({ message: "limit", ...meta(400) }), {
      status: "FAILED",
    }) as DeployError;
    expect(limit.code).toBe("NOT_REDRIVABLE");
    expect(limit.message).toContain("ExecutionLimitExceeded (HTTP 400): limit; the account's limit");
  });

  it("says when the endpoint does not implement RedriveExecution (LocalStack answers HTTP 501)", () => {
    const localstack = new SFNServiceException({
      name: "InternalFailure",
      $fault: "server",
      message:
        "The API for service stepfunctions is either not included in your current license plan or has not yet been emulated by LocalStack.",
      ...meta(501),
    });
    const error = redriveRefusal(
      ARN,
      localstack,
      { status: "FAILED" },
      "http://127.0.0.1:4566",
    ) as DeployError;
    expect(error.code).toBe("API_NOT_IMPLEMENTED");
    expect(error.message).toBe(
      `execution ${ARN} was not redriven: InternalFailure (HTTP 501): The API for service stepfunctions is either not included in your current license plan or has not yet been emulated by LocalStack; the endpoint http://127.0.0.1:4566 does not implement RedriveExecution (LocalStack's community edition does not); start a new execution instead (ferry start <spec|workflow> --input ...), or redrive on AWS`,
    );
  });

  it("returns errors that are not AWS errors unchanged", () => {
    const bug = new TypeError("boom");
    expect(redriveRefusal(ARN, bug)).toBe(bug);
  });
});

describe("openTaskTokens", () => {
  const at = new Date(0);
  const scheduled = (id: number, parameters: unknown): HistoryEvent => ({
    id,
    previousEventId: id - 1,
    timestamp: at,
    type: "TaskScheduled",
    taskScheduledEventDetails: {
      resourceType: "sqs",
      resource: "sendMessage.waitForTaskToken",
      region: "us-east-1",
      parameters: JSON.stringify(parameters),
    },
  });
  const event = (id: number, type: string, previousEventId: number): HistoryEvent =>
    ({ id, previousEventId, timestamp: at, type }) as HistoryEvent;

  it("finds the tokens of waiting step messages and join waiters, not of finished tasks", () => {
    const events = [
      event(1, "ExecutionStarted", 0),
      scheduled(2, { QueueUrl: "q", MessageBody: { v: 1, token: "done-token" } }),
      event(3, "TaskStarted", 2),
      event(4, "TaskSubmitted", 3),
      event(5, "TaskSucceeded", 4),
      scheduled(6, { QueueUrl: "q", MessageBody: { v: 1, token: "step-token", step: "work" } }),
      event(7, "TaskStarted", 6),
      scheduled(8, {
        TableName: "t",
        ExpressionAttributeValues: { ":token": { SS: ["join-token"] }, ":n": { N: "1" } },
      }),
      scheduled(9, { QueueUrl: "q", MessageBody: JSON.stringify({ token: "text-token" }) }),
      scheduled(10, { QueueUrl: "q", MessageBody: { v: 1, token: "timed-out-token" } }),
      event(11, "TaskTimedOut", 10),
    ];
    expect(openTaskTokens(events)).toEqual(["step-token", "join-token", "text-token"]);
  });

  it("ignores parameters that are not JSON and histories without tasks", () => {
    expect(openTaskTokens([])).toEqual([]);
    const broken = scheduled(2, {});
    broken.taskScheduledEventDetails!.parameters = "{not json";
    expect(openTaskTokens([broken])).toEqual([]);
  });
});
