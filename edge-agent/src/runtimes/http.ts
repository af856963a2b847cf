import { FERRY_ERRORS } from "@ferry/dsl-compiler/contract";
import { AgentError, messageOf } from "../errors.ts";
import type { Runtime, RuntimeRequest, RuntimeResult } from "./runtime.ts";

const CAUSE_BODY_BYTES = 2048;

/**
 * Runs `http` steps with `fetch`. The request body is the step's `body`, or
 * the step input for methods that carry one. A 2xx answer succeeds with
 * `{ statusCode, body }` (the body parsed when it is JSON), the very output
 * Step Functions' HTTP task gives an HTTP step placed on an AWS site; any
 * other status fails with `Ferry.HttpError`.
 */
export class HttpRuntime implements Runtime {
  readonly name = "http";

  async run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "http") {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" is a ${runtime.kind} step, not an http step`,
      );
    }
    const hasBody = runtime.method !== "GET" && runtime.method !== "DELETE";
    const body =
      runtime.body !== undefined ? JSON.stringify(runtime.body) : hasBody ? request.inputJson : undefined;
    let response: Response;
    let text: string;
    try {
      response = await fetch(runtime.url, {
        method: runtime.method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...runtime.headers,
        },
        ...(body !== undefined ? { body } : {}),
        signal: request.signal,
      });
      text = await response.text();
    } catch (error) {
      if (request.signal.aborted) return { ...empty(), aborted: true };
      throw new AgentError("HTTP_FAILED", `${runtime.method} ${runtime.url} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const log = text.length > request.logCapBytes ? `${text.slice(0, request.logCapBytes)}…` : text;
    const result: RuntimeResult = {
      ...empty(),
      exitCode: response.ok ? 0 : 1,
      stdout: log,
      stdoutBytes: Buffer.byteLength(text),
    };
    if (!response.ok) {
      const cause = `${runtime.method} ${runtime.url} answered ${response.status} ${response.statusText}: ${text.slice(0, CAUSE_BODY_BYTES)}`;
      return { ...result, failure: { error: FERRY_ERRORS.http, cause } };
    }
    return { ...result, output: { value: { statusCode: response.status, body: parseBody(text) } } };
  }
}

function parseBody(text: string): unknown {
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    // Not JSON: keep the body as text, as Step Functions does.
    return text;
  }
}

function empty(): RuntimeResult {
  return { exitCode: null, stdout: "", stderr: "", stdoutBytes: 0, stderrBytes: 0, aborted: false };
}
