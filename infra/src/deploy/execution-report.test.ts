import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { StateIndex } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { buildExecutionReport, MAX_ATTEMPT_DETAILS } from "./execution-report.ts";

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

const message = (step: string, attempt: number, input: unknown) => ({
  taskScheduledEventDetails: {
    resourceType: "sqs",
    resource: "sendMessage.waitForTaskToken",
    region: "us-east-1",
    parameters: JSON.stringify({ QueueUrl: "q", MessageBody: { v: 1, step, attempt, input } }),
  },
});

describe("buildExecutionReport's attempts", () => {
  it("given a step that failed once then succeeded, keeps each attempt's input, output, error and cause", () => {
    const input = { input: { n: 3 }, deps: { fetch: { rows: 7 } } };
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "work" } }],
      ["TaskScheduled", 2, message("work", 1, input)],
      ["TaskStarted", 3],
      ["TaskFailed", 4, { taskFailedEventDetails: { error: "Ferry.ExitCode", cause: "exit 3" } }],
      ["TaskScheduled", 5, message("work", 2, input)],
      ["TaskStarted", 6],
      ["TaskSucceeded", 7, { taskSucceededEventDetails: { output: '{"total": 21}' } }],
    );
    const [row] = buildExecutionReport(events).steps;
    expect(row!.attemptList).toEqual([
      {
        attempt: 1,
        scheduledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)),
        endedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 4)),
        outcome: "failed",
        input,
        error: "Ferry.ExitCode",
        cause: "exit 3",
      },
      {
        attempt: 2,
        scheduledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)),
        endedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 7)),
        outcome: "succeeded",
        input,
        output: { total: 21 },
      },
    ]);
  });

  it("given foreach items whose tasks interleave, matches each answer to its own task by the event chain", () => {
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "each" } }],
      ["TaskScheduled", 2, message("each", 1, { input: {}, deps: {}, item: "a" })],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "each" } }],
      ["TaskScheduled", 4, message("each", 1, { input: {}, deps: {}, item: "b" })],
      ["TaskStarted", 5],
      ["TaskSucceeded", 6, { taskSucceededEventDetails: { output: '"from b"' } }],
      ["TaskStarted", 3],
      ["TaskFailed", 8, { taskFailedEventDetails: { error: "Ferry.ExitCode", cause: "a broke" } }],
    );
    const [row] = buildExecutionReport(events).steps;
    expect(
      row!.attemptList!.map((a) => [(a.input as { item: string }).item, a.outcome, a.output ?? a.cause]),
    ).toEqual([
      ["a", "failed", "a broke"],
      ["b", "succeeded", "from b"],
    ]);
  });

  it("given hostile task parameters and output, reports the attempt without them and does not throw", () => {
    const events = history(
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "work" } }],
      [
        "TaskScheduled",
        2,
        {
          taskScheduledEventDetails: {
            resourceType: "sqs",
            resource: "sendMessage.waitForTaskToken",
            parameters: '{"MessageBody": "{not json',
          },
        },
      ],
      ["TaskSucceeded", 3, { taskSucceededEventDetails: { output: "plain text, not JSON" } }],
    );
    const index: StateIndex = { work: { kind: "step", step: "work" } };
    const [row] = buildExecutionReport(events, index).steps;
    expect(row!.attemptList).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "succeeded", output: "plain text, not JSON" }),
    ]);
    expect(row!.attemptList![0]).not.toHaveProperty("input");
  });

  it("given more tasks than it keeps, keeps the newest and still counts them all", () => {
    const specs: Array<[string, number, Record<string, unknown>?]> = [
      ["ExecutionStarted", 0],
      ["TaskStateEntered", 1, { stateEnteredEventDetails: { name: "work" } }],
    ];
    for (let i = 1; i <= MAX_ATTEMPT_DETAILS + 5; i++) {
      specs.push(["TaskScheduled", specs.length, message("work", i, { input: {}, deps: {} })]);
      specs.push(["TaskFailed", specs.length, { taskFailedEventDetails: { error: "E", cause: `try ${i}` } }]);
    }
    const [row] = buildExecutionReport(history(...specs)).steps;
    expect(row!.attempts).toBe(MAX_ATTEMPT_DETAILS + 5);
    expect(row!.attemptList).toHaveLength(MAX_ATTEMPT_DETAILS);
    expect(row!.attemptList!.at(-1)).toMatchObject({
      attempt: MAX_ATTEMPT_DETAILS + 5,
      cause: `try ${MAX_ATTEMPT_DETAILS + 5}`,
    });
  });
});
