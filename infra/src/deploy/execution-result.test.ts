import { describe, expect, it } from "vitest";
import type { StepReport } from "./execution-report.ts";
import { EXECUTION_RESULT_VERSION, executionResult } from "./execution-result.ts";
import type { ExecutionStatus } from "./executions.ts";

const ARN = "arn:aws:states:us-east-1:123456789012:execution:wf-root:run-1";
const SM = "arn:aws:states:us-east-1:123456789012:stateMachine:wf-root";

function step(name: string, state: StepReport["state"], extra: Partial<StepReport> = {}): StepReport {
  return { step: name, state, attempts: 1, items: 1, childExecutions: [], ...extra };
}

function status(
  description: Partial<ExecutionStatus["description"]>,
  steps: StepReport[],
  children: ExecutionStatus[] = [],
  report: { error?: string; cause?: string } = {},
): ExecutionStatus {
  return {
    executionArn: description.executionArn ?? ARN,
    description: { $metadata: {}, executionArn: ARN, ...description } as ExecutionStatus["description"],
    report: { steps, ...report },
    children,
    indexSource: "deployment",
  };
}

describe("executionResult", () => {
  it("holds a succeeded execution's parsed output and nulls for what is absent", () => {
    const result = executionResult(
      status(
        {
          stateMachineArn: SM,
          name: "run-1",
          status: "SUCCEEDED",
          output: '{"sink":{"n":3}}',
          startDate: new Date("2026-05-01T10:00:00.000Z"),
          stopDate: new Date("2026-05-01T10:00:05.000Z"),
        },
        [step("a", "succeeded")],
      ),
    );
    expect(result).toEqual({
      v: EXECUTION_RESULT_VERSION,
      executionArn: ARN,
      stateMachineArn: SM,
      name: "run-1",
      status: "SUCCEEDED",
      output: { sink: { n: 3 } },
      error: null,
      cause: null,
      failedSteps: [],
      startDate: "2026-05-01T10:00:00.000Z",
      stopDate: "2026-05-01T10:00:05.000Z",
      redriveCount: 0,
    });
    expect(EXECUTION_RESULT_VERSION).toBe(1);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it("lists the failed and timed-out steps, child executions' included, with the execution's error", () => {
    const child = status({ executionArn: `${ARN}-child`, status: "FAILED" }, [
      step("inner", "timed out", { attempts: 3, error: "States.Timeout" }),
    ]);
    const result = executionResult(
      status(
        { status: "FAILED", error: "Ferry.ExitCode", cause: "exit 3", redriveCount: 2 },
        [
          step("a", "succeeded"),
          step("b", "failed", { attempts: 2, error: "Ferry.ExitCode", cause: "exit 3" }),
        ],
        [child],
      ),
    );
    expect(result.status).toBe("FAILED");
    expect(result.output).toBeNull();
    expect(result.error).toBe("Ferry.ExitCode");
    expect(result.cause).toBe("exit 3");
    expect(result.redriveCount).toBe(2);
    expect(result.failedSteps).toEqual([
      { step: "b", state: "failed", error: "Ferry.ExitCode", cause: "exit 3", attempts: 2 },
      { step: "inner", state: "timed out", error: "States.Timeout", cause: null, attempts: 3 },
    ]);
  });

  it("falls back to the history's error, and keeps an output that is not JSON as a string", () => {
    const failed = executionResult(status({ status: "FAILED" }, [], [], { error: "E", cause: "C" }));
    expect([failed.error, failed.cause, failed.stateMachineArn, failed.startDate]).toEqual([
      "E",
      "C",
      null,
      null,
    ]);
    expect(executionResult(status({ status: "SUCCEEDED", output: "not json" }, [])).output).toBe("not json");
  });
});
