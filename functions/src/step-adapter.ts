import {
  MAX_PAYLOAD_BYTES,
  type StepInput,
  type StepMessage,
  type TaskFailure,
  toTaskFailure,
} from "@ferry/dsl-compiler/contract";
import { InvalidHandlerError, InvalidOutputError } from "./errors.ts";

/** A JSON object: what a step returns. */
export type StepOutput = { [key: string]: unknown };

/** What a function step's handler receives besides its input. */
export interface StepContext {
  workflow: string;
  /** Root execution id; child state machines carry their parent's. */
  execution: string;
  step: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Where this execution's job files live. */
  jobFiles: { bucket: string; prefix: string };
  /** The attempt's job folder on this machine, with the step's inputs staged and its outputs expected (a fresh folder under `/tmp` on Lambda). */
  jobDir?: string;
  /** Aborted when the runtime stops waiting for the handler (time limit, shutdown); pass it to fetch and SDK calls. */
  signal: AbortSignal;
}

/**
 * A user's function step: `functions/…/file.ts#exportName` in the spec.
 * It gets `{ input, deps, item }` and returns a JSON object, the step's output.
 * Throw `NonRetriableError` to fail without retries; anything else thrown is
 * retried by the step's Retry policy.
 */
export type StepHandler = (input: StepInput, context: StepContext) => Promise<StepOutput> | StepOutput;

export type StepResult = { ok: true; output: StepOutput } | { ok: false; failure: TaskFailure };

export interface RunStepOptions {
  /** @default a signal that never aborts */
  signal?: AbortSignal;
  /** Sets `context.jobDir`. */
  jobDir?: string;
  /**
   * Largest output accepted. Workers that store large outputs as job files
   * (the edge agent) pass `Infinity`.
   * @default Step Functions' payload limit
   */
  maxOutputBytes?: number;
}

/**
 * The one function host: every runtime of `function` steps (Lambda,
 * `ferry functions serve`, the edge agent, `ferry run`) calls handlers
 * through {@link runFunctionStep}, so they all get the same {@link StepContext}.
 */

/**
 * Runs one function step: calls the handler and checks its output. Never
 * throws: every failure comes back as the `TaskFailure` to send to Step
 * Functions, mapped by the one mapper, `toTaskFailure`.
 */
export async function runFunctionStep(
  handler: StepHandler,
  message: StepMessage,
  options: RunStepOptions = {},
): Promise<StepResult> {
  try {
    // The handler comes from a user's module; types do not guarantee it is a function at run time.
    if (typeof handler !== "function") {
      throw new InvalidHandlerError(
        `step "${message.step}": the handler export is ${describe(handler)}, not a function; export a function (input, context) => object`,
      );
    }
    const context: StepContext = {
      workflow: message.workflow,
      execution: message.execution,
      step: message.step,
      attempt: message.attempt,
      jobFiles: { ...message.jobFiles },
      ...(options.jobDir !== undefined ? { jobDir: options.jobDir } : {}),
      signal: options.signal ?? new AbortController().signal,
    };
    const returned: unknown = await handler(message.input, context);
    return { ok: true, output: checkOutput(message.step, returned, options.maxOutputBytes) };
  } catch (error) {
    return { ok: false, failure: toTaskFailure(error) };
  }
}

/** Returns the output as Step Functions will see it (a JSON round trip), or throws `InvalidOutputError`. */
export function checkOutput(step: string, value: unknown, maxBytes = MAX_PAYLOAD_BYTES): StepOutput {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidOutputError(
      `step "${step}": the handler returned ${describe(value)}; return a JSON object, e.g. { "rows": 3 }`,
    );
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidOutputError(
      `step "${step}": the output is not JSON-serializable (${(error as Error).message}); return plain data`,
      { cause: error },
    );
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > maxBytes) {
    throw new InvalidOutputError(
      `step "${step}": the output is ${bytes} bytes, over Step Functions' ${MAX_PAYLOAD_BYTES}-byte limit; write large data as job files under context.jobFiles and return their keys`,
    );
  }
  return JSON.parse(json) as StepOutput;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value === undefined) return "undefined";
  return typeof value === "object" ? "an object" : `a ${typeof value} (${String(value).slice(0, 40)})`;
}
