import { FunctionStepEnvSchema, heartbeatIntervalMs } from "@ferry/dsl-compiler/contract";
import { FunctionError } from "../errors.ts";

/** The environment Ferry's CDK construct sets on every step function (the contract's `FunctionStepEnvSchema`). */
export interface LambdaStepEnv {
  FERRY_WORKFLOW?: string;
  FERRY_STEP?: string;
  /** The step's heartbeatSeconds; absent when the step has none. */
  FERRY_HEARTBEAT_SECONDS?: string;
}

export interface ResolvedLambdaConfig {
  workflow: string;
  step: string;
  /** 0 when the step has no heartbeat. */
  heartbeatIntervalMs: number;
  /** Time kept back before Lambda's own timeout to report `Ferry.Timeout` while it still can. */
  timeoutMarginMs: number;
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
  return {
    workflow,
    step,
    heartbeatIntervalMs: heartbeatIntervalMs(heartbeatSeconds) ?? 0,
    timeoutMarginMs: DEFAULT_TIMEOUT_MARGIN_MS,
  };
}
