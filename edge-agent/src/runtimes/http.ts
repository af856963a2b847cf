import { FERRY_ERRORS } from "@ferry/dsl-compiler/contract";
import { AgentError, isAgentError, messageOf } from "../errors.ts";
import { plainValues, type Runtime, type RuntimeRequest, type RuntimeResult } from "./runtime.ts";

const CAUSE_BODY_BYTES = 2048;

/**
 * Runs `http` steps with `fetch`. The request body is the step's `body`, or
 * the step input for methods that carry one. A 2xx answer succeeds with
 * `{ statusCode, body }` (the body parsed when it is JSON), the very output
 * Step Functions' HTTP task gives an HTTP step placed on an AWS site; any
 * other status fails with `Ferry.HttpError`.
 */
export interface HttpRuntimeOptions {
  /** Largest response body read; a longer one fails the step. @default 10 MiB */
  maxResponseBytes?: number;
}

/** Redirects followed at most (same origin only). */
const MAX_REDIRECTS = 5;

export class HttpRuntime implements Runtime {
  readonly name = "http";
  private readonly maxResponseBytes: number;

  constructor(options: HttpRuntimeOptions = {}) {
    this.maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
  }

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
      const init: RequestInit = {
        method: runtime.method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...plainValues(request.step.name, runtime.headers),
        },
        ...(body !== undefined ? { body } : {}),
        signal: request.signal,
      };
      response = await fetchSameOrigin(runtime.url, init);
      text = await readCapped(response, this.maxResponseBytes, `${runtime.method} ${runtime.url}`);
    } catch (error) {
      if (request.signal.aborted) return { ...empty(), aborted: true };
      if (isAgentError(error)) throw error;
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

/**
 * Follows redirects by hand, and only within the request's origin: a step's
 * headers (often credentials) must never reach a host the spec did not name.
 */
async function fetchSameOrigin(url: string, init: RequestInit): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { ...init, redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location)
      return response;
    await response.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== origin) {
      throw new AgentError(
        "HTTP_FAILED",
        `${init.method} ${url} redirected to another origin (${next.origin}); Ferry follows same-origin redirects only — point the step's url at the final address`,
        { taskError: FERRY_ERRORS.nonRetriable },
      );
    }
    if (hop >= MAX_REDIRECTS)
      throw new AgentError(
        "HTTP_FAILED",
        `${init.method} ${url} redirected more than ${MAX_REDIRECTS} times`,
      );
    current = next.href;
  }
}

/** Reads a body up to `maxBytes`, failing rather than holding an unbounded answer in memory. */
async function readCapped(response: Response, maxBytes: number, what: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  const tooLarge = () =>
    new AgentError(
      "HTTP_FAILED",
      `${what} answered a body over ${maxBytes} bytes — raise http.maxResponseBytes in the agent config if it is expected`,
      { taskError: FERRY_ERRORS.nonRetriable },
    );
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return "";
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    // Throwing out of for-await cancels the stream: the rest is never read.
    if (total > maxBytes) throw tooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
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
