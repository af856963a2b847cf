import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { StateIndex } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { buildExecutionReport } from "./execution-report.ts";

/** A tiny history builder: events chained by previousEventId, one second apart. */
function history(
  ...specs: Array<[type: string, prev: number, details?: Record<string, unknown>]>
): HistoryEvent[] {
  return specs.map(([type, prev, details], i) => ({
    id: i + 1,
    previousEventId: prev,
    type: type as HistoryEvent["type"],
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    ...details,
  }));
}

const sqsScheduled = (step: string) => ({
  taskScheduledEventDetails: {
    resourceType: "sqs",
    resource: "sendMessage.waitForTaskToken",
    region: "us-east-1",
    parameters: JSON.stringify({ QueueUrl: "q", MessageBody: { v: 1, step } }),
  },
});

describe("buildExecutionReport", () => {
  it("given a retried step that finally failed, reports its attempts, error and cause", () => {
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "work" } }],
      ["TaskScheduled", 2, sqsScheduled("work")],
      ["TaskStarted", 3],
      ["TaskFailed", 4, { taskFailedEventDetails: { error: "Ferry.ExitCode", cause: "first" } }],
      ["TaskScheduled", 5, sqsScheduled("work")],
      ["TaskStarted", 6],
      ["TaskFailed", 7, { taskFailedEventDetails: { error: "Ferry.ExitCode", cause: "boom" } }],
      ["ExecutionFailed", 8, { executionFailedEventDetails: { error: "Ferry.ExitCode", cause: "boom" } }],
    );
    const report = buildExecutionReport(events);
    expect(report.steps).toEqual([
      expect.objectContaining({
        step: "work",
        state: "failed",
        attempts: 2,
        items: 1,
        error: "Ferry.ExitCode",
        cause: "boom",
        durationMs: 5000,
      }),
    ]);
    expect(report).toMatchObject({ error: "Ferry.ExitCode", cause: "boom" });
  });

  it("given a state index, lists steps that never started and hides helper states that succeeded", () => {
    const index: StateIndex = {
      a: { kind: "step", step: "a" },
      "a.signal": { kind: "signal", step: "a" },
      b: { kind: "step", step: "b" },
    };
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "a" } }],
      ["TaskScheduled", 2, sqsScheduled("a")],
      ["TaskSucceeded", 3, { taskSucceededEventDetails: { output: "{}" } }],
      ["TaskStateExited", 4],
      ["TaskStateEntered", 5, { stateEnteredEventDetails: { name: "a.signal" } }],
      [
        "TaskScheduled",
        6,
        { taskScheduledEventDetails: { resourceType: "aws-sdk:dynamodb", resource: "updateItem" } },
      ],
      ["TaskSucceeded", 7, { taskSucceededEventDetails: { output: "{}" } }],
    );
    const report = buildExecutionReport(events, index, new Date(Date.UTC(2026, 0, 1, 0, 1)));
    expect(report.steps.map((s) => [s.step, s.state, s.attempts])).toEqual([
      ["a", "succeeded", 1],
      ["b", "not started", 0],
    ]);
  });

  it("given parallel branches, attributes each task event to its own state through previousEventId", () => {
    const events = history(
      ["ExecutionStarted", 0],
      ["ParallelStateEntered", 1, { stateEnteredEventDetails: { name: "fork" } }],
      ["TaskStateEntered", 2, { stateEnteredEventDetails: { name: "x" } }],
      ["TaskStateEntered", 2, { stateEnteredEventDetails: { name: "y" } }],
      ["TaskScheduled", 3, sqsScheduled("x")],
      ["TaskScheduled", 4, sqsScheduled("y")],
      ["TaskSucceeded", 6, { taskSucceededEventDetails: { output: "{}" } }],
      ["TaskTimedOut", 5, { taskTimedOutEventDetails: { error: "States.Timeout" } }],
    );
    const report = buildExecutionReport(events, undefined, new Date(Date.UTC(2026, 0, 1, 0, 1)));
    expect(report.steps.map((s) => [s.step, s.state, s.error])).toEqual([
      ["x", "timed out", "States.Timeout"],
      ["y", "succeeded", undefined],
    ]);
  });

  it("given a foreach step, counts its items and attempts", () => {
    const index: StateIndex = {
      resize: { kind: "step", step: "resize" },
      "resize.map": { kind: "foreach", step: "resize" },
    };
    const events = history(
      ["ExecutionStarted", 0],
      ["MapStateEntered", 1, { stateEnteredEventDetails: { name: "resize.map" } }],
      ["TaskStateEntered", 2, { stateEnteredEventDetails: { name: "resize" } }],
      ["TaskStateEntered", 2, { stateEnteredEventDetails: { name: "resize" } }],
      ["TaskScheduled", 3, sqsScheduled("resize")],
      ["TaskScheduled", 4, sqsScheduled("resize")],
      ["TaskSucceeded", 5, { taskSucceededEventDetails: { output: "{}" } }],
      ["TaskSucceeded", 6, { taskSucceededEventDetails: { output: "{}" } }],
    );
    const [row] = buildExecutionReport(events, index).steps;
    expect(row).toMatchObject({ step: "resize", state: "succeeded", attempts: 2, items: 2 });
  });

  it("given a child state machine, collects the child execution ARN", () => {
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "child-1" } }],
      [
        "TaskScheduled",
        2,
        {
          taskScheduledEventDetails: {
            resourceType: "states",
            resource: "startExecution.sync:2",
            parameters: "{}",
          },
        },
      ],
      [
        "TaskSubmitted",
        3,
        { taskSubmittedEventDetails: { output: JSON.stringify({ ExecutionArn: "arn:child" }) } },
      ],
    );
    const [row] = buildExecutionReport(events).steps;
    expect(row).toMatchObject({ step: "child-1 (child)", state: "running", childExecutions: ["arn:child"] });
  });
});
