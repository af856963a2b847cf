import {
  FUNCTION_SECRETS_ENV,
  FunctionStepEnvSchema,
  heartbeatIntervalMs,
  parseSecretRef,
} from "@ferry/dsl-compiler/contract";
import { FunctionError } from "../errors.ts";
import { DEFAULT_LOG_CAP_BYTES } from "../worker/attempt-log.ts";

/** The environment Ferry's CDK construct sets on every step function (the contract's `FunctionStepEnvSchema`). */
export interface LambdaStepEnv {
  FERRY_WORKFLOW?: string;
  FERRY_STEP?: string;
  /** The step's heartbeatSeconds; absent when the step has none. */
  FERRY_HEARTBEAT_SECONDS?: string;
  /** The step's secret env variables, JSON `{ "NAME": "<reference>" }` (references, never values). */
  FERRY_SECRETS?: string;
  /** The site the step writes job files as. */
  FERRY_SITE?: string;
  /** The stack's job bucket. */
  FERRY_JOB_BUCKET?: string;
  /** JSON `{ "<input>": "<writing site>" }`. */
  FERRY_INPUTS?: string;
  /** JSON `["<output>", …]`. */
  FERRY_OUTPUTS?: string;
  /** The step's manifest definition hash, for its provenance records. */
  FERRY_DEFINITION_HASH?: string;
  /** JSON `{ "hash", "ttl"?, "key"? }`: set only when the step caches. */
  FERRY_CACHE?: string;
  /** The stack's step cache index table. */
  FERRY_CACHE_TABLE?: string;
  /**
   * Local stand-ins only (`ferry functions serve` on LocalStack, never set by
   * the construct): comma-separated delays (ms) of heartbeats sent after each
   * SendTaskSuccess, which LocalStack 4.14 needs to read an early answer.
   */
  FERRY_SUCCESS_NUDGES_MS?: string;
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
  /** The step's job files, as the manifest gives them to an edge agent. */
  jobFiles: {
    /** The site it writes as; `undefined` when the function was configured without one (then no job files). */
    site?: string;
    /** Messages naming another bucket are rejected. @default any */
    bucket?: string;
    /** Input name → the site whose step wrote it. */
    inputs: Record<string, string>;
    outputs: string[];
  };
  /** See `FERRY_SUCCESS_NUDGES_MS`; empty on AWS. */
  successNudgesMs: number[];
  /** Cap on each of stdout and stderr kept in an attempt's uploaded log, as on the edge. @default DEFAULT_LOG_CAP_BYTES (1 MiB) */
  logCapBytes?: number;
  /** The step's manifest definition hash; absent from functions deployed before provenance. */
  definitionHash?: string;
  /** The step cache, when the step caches: what an edge agent reads from the manifest entry. */
  cache?: {
    table: string;
    /** `cacheDefinitionHash` of the step's manifest entry. */
    definitionHash: string;
    ttlSeconds?: number;
    key?: string[];
  };
}

/** @default 3000 ms — room for one SendTaskFailure call before Lambda stops the function. */
export const DEFAULT_TIMEOUT_MARGIN_MS = 3000;

/** Reads the environment once, at cold start; a misconfigured function fails its init, visibly. */
export function resolveLambdaConfig(env: LambdaStepEnv): ResolvedLambdaConfig {
  const parsed = FunctionStepEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "(environment)");
    throw invalidConfig(
      `${name} ${issue.message}, got ${JSON.stringify((env as Record<string, unknown>)[name])}; deploy the function with Ferry's FerryWorkflow construct`,
    );
  }
  const heartbeatSeconds = parsed.data.FERRY_HEARTBEAT_SECONDS;
  if (heartbeatSeconds !== undefined && heartbeatSeconds < 0) {
    throw invalidConfig(
      `FERRY_HEARTBEAT_SECONDS must be a number of seconds ≥ 0, got ${JSON.stringify(env.FERRY_HEARTBEAT_SECONDS)}`,
    );
  }
  const workflow = parsed.data.FERRY_WORKFLOW;
  const step = parsed.data.FERRY_STEP;
  if (!workflow || !step) {
    throw invalidConfig(
      `FERRY_WORKFLOW and FERRY_STEP must be set, got ${JSON.stringify({ workflow, step })}; deploy the function with Ferry's FerryWorkflow construct`,
    );
  }
  const inputs = parsed.data.FERRY_INPUTS ?? {};
  const outputs = parsed.data.FERRY_OUTPUTS ?? [];
  const site = parsed.data.FERRY_SITE;
  if (!site && (Object.keys(inputs).length > 0 || outputs.length > 0)) {
    throw invalidConfig(
      "FERRY_INPUTS/FERRY_OUTPUTS are set but FERRY_SITE is not; the step's outputs need its site",
    );
  }
  const nudges = (env.FERRY_SUCCESS_NUDGES_MS ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map(Number);
  if (nudges.some((ms) => !Number.isFinite(ms) || ms < 0)) {
    throw invalidConfig(
      `FERRY_SUCCESS_NUDGES_MS must be comma-separated milliseconds, got ${JSON.stringify(env.FERRY_SUCCESS_NUDGES_MS)}`,
    );
  }
  const cache = parsed.data.FERRY_CACHE;
  const table = parsed.data.FERRY_CACHE_TABLE;
  if (cache && (!table || !site || !parsed.data.FERRY_JOB_BUCKET)) {
    throw invalidConfig(
      "FERRY_CACHE is set but FERRY_CACHE_TABLE, FERRY_SITE or FERRY_JOB_BUCKET is not; the step cache needs its table and the site's cache segment",
    );
  }
  const secrets = parseSecrets(env[FUNCTION_SECRETS_ENV]);
  return {
    workflow,
    step,
    heartbeatIntervalMs: heartbeatIntervalMs(heartbeatSeconds) ?? 0,
    timeoutMarginMs: DEFAULT_TIMEOUT_MARGIN_MS,
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
    jobFiles: {
      ...(site ? { site } : {}),
      ...(parsed.data.FERRY_JOB_BUCKET ? { bucket: parsed.data.FERRY_JOB_BUCKET } : {}),
      inputs,
      outputs,
    },
    successNudgesMs: nudges,
    logCapBytes: DEFAULT_LOG_CAP_BYTES,
    ...(parsed.data.FERRY_DEFINITION_HASH ? { definitionHash: parsed.data.FERRY_DEFINITION_HASH } : {}),
    ...(cache && table
      ? {
          cache: {
            table,
            definitionHash: cache.hash,
            ...(cache.ttl !== undefined ? { ttlSeconds: cache.ttl } : {}),
            ...(cache.key ? { key: cache.key } : {}),
          },
        }
      : {}),
  };
}

function invalidConfig(message: string): FunctionError {
  return new FunctionError("INVALID_CONFIG", "Ferry.RuntimeError", `Lambda environment: ${message}`);
}

function parseSecrets(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw === "") return {};
  const invalid = (why: string) => invalidConfig(`${FUNCTION_SECRETS_ENV} ${why}`);
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
