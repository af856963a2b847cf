import {
  FUNCTION_SECRETS_ENV,
  FunctionStepEnvSchema,
  heartbeatIntervalMs,
  parseSecretRef,
} from "@ferry/dsl-compiler/contract";
import { FunctionError } from "../errors.ts";

/** The environment Ferry's CDK construct sets on every step function (the contract's `FunctionStepEnvSchema`). */
export interface LambdaStepEnv {
  FERRY_WORKFLOW?: string;
  FERRY_STEP?: string;
  /** The step's heartbeatSeconds; absent when the step has none. */
  FERRY_HEARTBEAT_SECONDS?: string;
  /** The step's secret env variables, JSON `{ "NAME": "<reference>" }` (references, never values). */
  FERRY_SECRETS?: string;
}

export interface ResolvedLambdaConfig {
  workflow: string;
  step: string;
  /** 0 when the step has no heartbeat. */
  heartbeatIntervalMs: number;
  /** Time kept back before Lambda's own timeout to report `Ferry.Timeout` while it still can. */
  timeoutMarginMs: number;
  /** Env variable → secret reference, resolved into `process.env` before each invocation's handler. */
  secrets?: Record<string, string>;
}

/** @default 3000 ms — room for one SendTaskFailure call before Lambda stops the function. */
export const DEFAULT_TIMEOUT_MARGIN_MS = 3000;

/** Reads the environment once, at cold start; a misconfigured function fails its init, visibly. */
export function resolveLambdaConfig(env: LambdaStepEnv): ResolvedLambdaConfig {
  const parsed = FunctionStepEnvSchema.safeParse(env);
  const heartbeatSeconds = parsed.success ? parsed.data.FERRY_HEARTBEAT_SECONDS : undefined;
  if (!parsed.success || (heartbeatSeconds !== undefined && heartbeatSeconds < 0)) {
    throw new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `Lambda environment: FERRY_HEARTBEAT_SECONDS must be a number of seconds ≥ 0, got ${JSON.stringify(env.FERRY_HEARTBEAT_SECONDS)}`,
    );
  }
  const workflow = parsed.data.FERRY_WORKFLOW;
  const step = parsed.data.FERRY_STEP;
  if (!workflow || !step) {
    throw new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `Lambda environment: FERRY_WORKFLOW and FERRY_STEP must be set, got ${JSON.stringify({ workflow, step })}; deploy the function with Ferry's FerryWorkflow construct`,
    );
  }
  const secrets = parseSecrets(env[FUNCTION_SECRETS_ENV]);
  return {
    workflow,
    step,
    heartbeatIntervalMs: heartbeatIntervalMs(heartbeatSeconds) ?? 0,
    timeoutMarginMs: DEFAULT_TIMEOUT_MARGIN_MS,
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
  };
}

function parseSecrets(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw === "") return {};
  const invalid = (why: string) =>
    new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `Lambda environment: ${FUNCTION_SECRETS_ENV} ${why}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid("is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw invalid("must be a JSON object");
  const secrets: Record<string, string> = {};
  for (const [name, ref] of Object.entries(parsed)) {
    if (typeof ref !== "string" || typeof parseSecretRef(ref) === "string") {
      throw invalid(`names an invalid secret reference for ${name}`);
    }
    secrets[name] = ref;
  }
  return secrets;
}
