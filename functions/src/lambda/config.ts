import { FunctionError } from "../errors.ts";

/** The environment Ferry's CDK construct sets on every step function. */
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
  const workflow = env.FERRY_WORKFLOW;
  const step = env.FERRY_STEP;
  if (!workflow || !step) {
    throw new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `Lambda environment: FERRY_WORKFLOW and FERRY_STEP must be set, got ${JSON.stringify({ workflow, step })}; deploy the function with Ferry's FerryWorkflow construct`,
    );
  }
  const heartbeatSeconds =
    env.FERRY_HEARTBEAT_SECONDS === undefined ? 0 : Number(env.FERRY_HEARTBEAT_SECONDS);
  if (!Number.isFinite(heartbeatSeconds) || heartbeatSeconds < 0) {
    throw new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `Lambda environment: FERRY_HEARTBEAT_SECONDS must be a number of seconds ≥ 0, got ${JSON.stringify(env.FERRY_HEARTBEAT_SECONDS)}`,
    );
  }
  // Three beats per heartbeat window: one lost or slow call does not time the task out.
  const heartbeatIntervalMs =
    heartbeatSeconds > 0 ? Math.max(1000, Math.floor((heartbeatSeconds * 1000) / 3)) : 0;
  return { workflow, step, heartbeatIntervalMs, timeoutMarginMs: DEFAULT_TIMEOUT_MARGIN_MS };
}
