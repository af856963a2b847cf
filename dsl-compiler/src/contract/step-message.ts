import { z } from "zod";

/**
 * The step contract: every step, whatever runs it, is one message on one
 * queue. The message carries data, never code — workers resolve what to run
 * from the trusted manifest by `workflow` + `step`.
 */
export const StepMessageSchema = z.strictObject({
  v: z.literal(1),
  /** Step Functions task token (`$$.Task.Token`); answered with SendTask*. */
  token: z.string().min(1).max(8192),
  workflow: z.string().min(1).max(64),
  /** Root execution id; child state machines carry their parent's. */
  execution: z.string().min(1).max(2048),
  step: z.string().min(1).max(80),
  /** 1 for the first attempt. */
  attempt: z.number().int().min(1).max(100),
  /** A `foreach` item's position (`$$.Map.Item.Index`); absent outside a Map, in a batch, and in older messages. */
  index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** `ferry start --no-cache`: answer from no cache entry (entries are still written). */
  noCache: z.boolean().optional(),
  input: z.strictObject({
    input: z.unknown(),
    deps: z.record(z.string(), z.unknown()),
    item: z.unknown().optional(),
    /** A failure handler gets the failure it handles; a finally step gets the run's, or null. */
    failure: z.strictObject({ error: z.string(), cause: z.string() }).nullable().optional(),
  }),
  jobFiles: z.strictObject({ bucket: z.string(), prefix: z.string() }),
});

export type StepMessage = z.output<typeof StepMessageSchema>;
export type StepInput = StepMessage["input"];

/**
 * The execution input key under which `ferry start` passes its options:
 * `{ [START_OPTIONS_KEY]: { noCache }, input }`. The state machine unwraps
 * it, so steps see only `input`; any other input is the workflow's own.
 */
export const START_OPTIONS_KEY = "ferryStartOptions";

/** The execution input `ferry start` sends: the workflow input, wrapped only when there are options. */
export function startExecutionInput(input: unknown, options: { noCache?: boolean } = {}): unknown {
  return options.noCache ? { [START_OPTIONS_KEY]: { noCache: true }, input } : input;
}

/** The workflow input of an execution started with `startExecutionInput` (the envelope unwrapped, as the state machine does). */
export function workflowInputOf(executionInput: unknown): unknown {
  if (typeof executionInput !== "object" || executionInput === null || Array.isArray(executionInput))
    return executionInput;
  const options = (executionInput as Record<string, unknown>)[START_OPTIONS_KEY];
  const wrapped =
    typeof options === "object" &&
    options !== null &&
    typeof (options as { noCache?: unknown }).noCache === "boolean" &&
    "input" in executionInput;
  return wrapped ? (executionInput as { input: unknown }).input : executionInput;
}

/** Step Functions' payload limit for task input and output. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * Parses an untrusted queue message body. Never throws: a bad message comes
 * back with a reason, for the dead-letter queue and the log.
 */
export function parseStepMessage(
  body: string,
): { ok: true; message: StepMessage } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = StepMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0]!;
  return {
    ok: false,
    reason: `invalid step message at ${issue.path.join(".") || "(root)"}: ${issue.message}`,
  };
}
