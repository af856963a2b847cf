import { FERRY_ERRORS, MAX_PAYLOAD_BYTES } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { NonRetriableError } from "./errors.ts";
import { runFunctionStep, type StepContext } from "./step-adapter.ts";
import { stepMessage } from "./testing.ts";

describe("runFunctionStep", () => {
  it("given a handler returning an object, when run, then the output is that object", async () => {
    let seen: StepContext | undefined;
    const result = await runFunctionStep(
      (input, context) => {
        seen = context;
        return { rows: (input.deps.transform as { rows: number }).rows + 1 };
      },
      stepMessage({ attempt: 2 }),
    );
    expect(result).toEqual({ ok: true, output: { rows: 4 } });
    expect(seen).toMatchObject({
      workflow: "hello",
      execution: "exec-1",
      step: "load",
      attempt: 2,
      jobFiles: { bucket: "job-bucket", prefix: "hello/exec-1/" },
    });
    expect(seen?.signal.aborted).toBe(false);
  });

  it("given an async handler, when run, then its output is JSON-normalized", async () => {
    const result = await runFunctionStep(async () => ({ at: new Date(0), skip: undefined }), stepMessage());
    expect(result).toEqual({ ok: true, output: { at: "1970-01-01T00:00:00.000Z" } });
  });

  it("given NonRetriableError, when run, then the failure is Ferry.NonRetriable with the message as cause", async () => {
    const result = await runFunctionStep(() => {
      throw new NonRetriableError("input.customerId is required");
    }, stepMessage());
    expect(result).toEqual({
      ok: false,
      failure: { error: FERRY_ERRORS.nonRetriable, cause: "input.customerId is required" },
    });
  });

  it("given a user's named error class, when run, then the error name is kept for Retry/Catch", async () => {
    class QuotaExceeded extends Error {
      override name = "QuotaExceeded";
    }
    const result = await runFunctionStep(async () => {
      throw new QuotaExceeded("try later");
    }, stepMessage());
    expect(result).toEqual({ ok: false, failure: { error: "QuotaExceeded", cause: "try later" } });
  });

  it.each([
    ["an array", [1, 2]],
    ["null", null],
    ["a string", "done"],
    ["undefined", undefined],
  ])(
    "given a handler returning %s, when run, then the failure is Ferry.InvalidOutput",
    async (_label, value) => {
      const result = await runFunctionStep(() => value as never, stepMessage());
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.failure.error).toBe(FERRY_ERRORS.invalidOutput);
        expect(result.failure.cause).toContain('step "load"');
        expect(result.failure.cause).toContain("return a JSON object");
      }
    },
  );

  it("given an output over the payload limit, when run, then the failure says to use job files", async () => {
    const result = await runFunctionStep(() => ({ blob: "x".repeat(MAX_PAYLOAD_BYTES) }), stepMessage());
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.failure).toMatchObject({
        error: FERRY_ERRORS.invalidOutput,
        cause: expect.stringContaining("job files"),
      });
  });

  it("given a circular output, when run, then the failure is Ferry.InvalidOutput", async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const result = await runFunctionStep(() => circular, stepMessage());
    expect(result.ok ? undefined : result.failure.error).toBe(FERRY_ERRORS.invalidOutput);
  });

  it("given an export that is not a function, when run, then the failure is Ferry.NonRetriable naming the fix (another attempt cannot fix it)", async () => {
    const result = await runFunctionStep({ not: "a function" } as never, stepMessage());
    expect(result).toEqual({
      ok: false,
      failure: { error: FERRY_ERRORS.nonRetriable, cause: expect.stringContaining("export a function") },
    });
  });

  it("given a thrown non-Error, when run, then the failure is Ferry.StepFailed with its JSON as cause", async () => {
    const result = await runFunctionStep(() => {
      throw { code: 42 };
    }, stepMessage());
    expect(result).toEqual({ ok: false, failure: { error: FERRY_ERRORS.stepFailed, cause: '{"code":42}' } });
  });
});
