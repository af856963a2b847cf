import type { Runtime, RuntimeRequest, RuntimeResult } from "../runtimes/runtime.ts";

export interface FakeCall {
  request: RuntimeRequest;
  /** Ends the step with this stdout (its last line is the output) and exit code. */
  finish(stdout?: string, exitCode?: number): void;
}

/**
 * A runtime whose steps end when the test says so; an aborted step ends at
 * once. For lifecycle, heartbeat and shutdown tests under fake timers.
 */
export class FakeRuntime implements Runtime {
  readonly name = "fake";
  readonly calls: FakeCall[] = [];

  run(request: RuntimeRequest): Promise<RuntimeResult> {
    return new Promise((resolve) => {
      const finish = (stdout = "{}", exitCode = 0) =>
        resolve({
          exitCode,
          stdout,
          stderr: "",
          stdoutBytes: stdout.length,
          stderrBytes: 0,
          lastStdoutLine: stdout.trim().split("\n").pop(),
          aborted: false,
        });
      request.signal.addEventListener("abort", () =>
        resolve({ exitCode: null, stdout: "", stderr: "", stdoutBytes: 0, stderrBytes: 0, aborted: true }),
      );
      this.calls.push({ request, finish });
    });
  }
}
