import type { StepMessage } from "@ferry/dsl-compiler/contract";

/** A valid step message for tests, with overrides. Exported as "@ferry/functions/testing", not from the package index. */
export function stepMessage(overrides: Partial<StepMessage> = {}): StepMessage {
  return {
    v: 1,
    token: "token-1",
    workflow: "hello",
    execution: "exec-1",
    step: "load",
    attempt: 1,
    input: { input: { day: "2026-01-01" }, deps: { transform: { rows: 3 } } },
    jobFiles: { bucket: "job-bucket", prefix: "hello/exec-1/" },
    ...overrides,
  };
}
