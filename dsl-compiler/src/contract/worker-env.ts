import { z } from "zod";
import type { ManifestStep } from "./manifest.ts";
import { cacheDefinitionHash } from "./step-cache.ts";

/** An unset or empty variable is absent. */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === "" ? undefined : value), schema.optional());
}

const text = optional(z.string().trim().min(1));
const list = optional(
  z.string().transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);
const number = optional(
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, "must be a number")
    .transform(Number),
);

/**
 * The worker environment contract: the `FERRY_*` variables the `infra`
 * construct writes into a worker container (Fargate) and that `ferry agent`
 * reads, parsed by this one schema on both sides. Lists are comma-separated.
 * Other variables are ignored; flags and the config file may set the same
 * settings (see `ferry agent --help`).
 */
export const WorkerEnvSchema = z.object({
  /** Path of the agent's YAML/JSON config file. */
  FERRY_CONFIG: text,
  /** The site this worker serves; steps placed elsewhere are dead-lettered. */
  FERRY_SITE: text,
  /** Queue URLs to long-poll. */
  FERRY_QUEUE_URLS: list,
  /** Trusted manifests: file paths or `s3://bucket/key` URLs. */
  FERRY_MANIFESTS: list,
  /** KMS key (ARN) whose signature every manifest must carry (`ferry deploy` signs with the stack's key). */
  FERRY_MANIFEST_SIGNING_KEY: text,
  /** Pinned manifest hashes: only manifests with one of these hashes are used. */
  FERRY_MANIFEST_HASHES: list,
  /** Least time between two manifest reloads (a message naming an unknown step reloads). */
  FERRY_MANIFEST_RELOAD_INTERVAL_SECONDS: number,
  /** Buckets a step message may name for its job files (the stack's job bucket); others are dead-lettered. */
  FERRY_JOB_BUCKETS: list,
  /** The step cache in the cloud: the job bucket and the stack's cache index table (both, or neither). */
  FERRY_STEP_CACHE_BUCKET: text,
  FERRY_STEP_CACHE_TABLE: text,
  FERRY_CONCURRENCY: number,
  /** `docker`, `podman`, `process` or `in-container` (Fargate: steps run in the agent's own container). */
  FERRY_RUNTIME: text,
  /** The image the agent's container runs (`in-container`): steps of other images are refused. */
  FERRY_STEP_IMAGE: text,
  FERRY_ENGINE_SOCKET: text,
  FERRY_PULL_POLICY: text,
  FERRY_GPUS: number,
  FERRY_WORK_DIR: text,
  FERRY_CACHE_DIR: text,
  FERRY_PROJECT_DIR: text,
  FERRY_HEARTBEAT_INTERVAL_SECONDS: number,
  FERRY_VISIBILITY_TIMEOUT_SECONDS: number,
  FERRY_SHUTDOWN_GRACE_SECONDS: number,
  FERRY_METRICS_HOST: text,
  FERRY_METRICS_PORT: number,
  FERRY_AWS_REGION: text,
  FERRY_AWS_ENDPOINT: text,
  FERRY_LOG_LEVEL: text,
});

/** The parsed worker environment. */
export type WorkerEnv = z.output<typeof WorkerEnvSchema>;

/**
 * Parses a worker's environment. Never throws: a bad variable comes back
 * named, with the value it had.
 */
export function parseWorkerEnv(
  env: Record<string, string | undefined>,
): { ok: true; env: WorkerEnv } | { ok: false; issues: string[] } {
  const parsed = WorkerEnvSchema.safeParse(env);
  if (parsed.success) return { ok: true, env: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "(environment)");
      return `${name}=${JSON.stringify(env[name])}: ${issue.message}`;
    }),
  };
}

/** Renders settings as the environment of a worker: what `infra` writes into a container definition. */
export function formatWorkerEnv(values: WorkerEnv): Record<string, string> {
  return formatEnv(values);
}

/** A JSON value in one variable (job-file names may hold commas). */
function json<T extends z.ZodType>(schema: T) {
  return optional(
    z
      .string()
      .transform((value, ctx) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "must be JSON" });
          return z.NEVER;
        }
      })
      .pipe(schema),
  );
}

/** A function step's cache settings in its environment (see `FERRY_CACHE`). */
export const FunctionCacheEnvSchema = z.strictObject({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  ttl: z.number().nonnegative().optional(),
  key: z.array(z.string()).optional(),
});

/**
 * The environment `infra` sets on a function step's Lambda function, which
 * the step adapter reads at cold start (and `ferry functions serve` sets
 * the same way). The job-file fields are the step's manifest entry: what
 * the edge agent reads from its trusted manifest, a Lambda function gets
 * from its own configuration.
 */
export const FunctionStepEnvSchema = z.object({
  FERRY_WORKFLOW: text,
  FERRY_STEP: text,
  /** The step's heartbeatSeconds; absent when the step has none. */
  FERRY_HEARTBEAT_SECONDS: number,
  /** The site the step runs on: it writes job files and large outputs under this site's keys. */
  FERRY_SITE: text,
  /** The stack's job bucket; a message naming another is rejected. */
  FERRY_JOB_BUCKET: text,
  /** Input job files, JSON `{ "<name>": "<site whose step wrote it>" }`, staged before the handler runs. */
  FERRY_INPUTS: json(z.record(z.string().min(1), z.string().min(1))),
  /** Output job files, JSON `["<name>", …]`, uploaded after the handler succeeds. */
  FERRY_OUTPUTS: json(z.array(z.string().min(1))),
  /** The step's manifest definition hash (`ManifestStep.hash`), named in its provenance records. */
  FERRY_DEFINITION_HASH: text,
  /**
   * Set only on a step that caches: JSON `{ "hash": <cacheDefinitionHash>,
   * "ttl"?: <seconds>, "key"?: [<extra>…] }`, what an edge agent takes from
   * its manifest entry. Short names: Lambda allows 4 KB of environment.
   */
  FERRY_CACHE: json(FunctionCacheEnvSchema),
  /** The stack's step cache index table; set with `FERRY_CACHE`. */
  FERRY_CACHE_TABLE: text,
});

export type FunctionStepEnv = z.output<typeof FunctionStepEnvSchema>;

/** Renders a function step's environment, as `infra` and `ferry functions serve` set it. */
export function formatFunctionStepEnv(values: FunctionStepEnv): Record<string, string> {
  const { FERRY_INPUTS, FERRY_OUTPUTS, FERRY_CACHE, ...plain } = values;
  return {
    ...formatEnv(plain),
    ...(FERRY_CACHE ? { FERRY_CACHE: JSON.stringify(FERRY_CACHE) } : {}),
    ...(FERRY_INPUTS && Object.keys(FERRY_INPUTS).length > 0
      ? { FERRY_INPUTS: JSON.stringify(FERRY_INPUTS) }
      : {}),
    ...(FERRY_OUTPUTS && FERRY_OUTPUTS.length > 0 ? { FERRY_OUTPUTS: JSON.stringify(FERRY_OUTPUTS) } : {}),
  };
}

/** The job-file fields of a function step's environment, from its manifest or IR entry. */
export function functionStepJobFilesEnv(step: {
  site: string;
  inputs: readonly string[];
  inputSites: Readonly<Record<string, string>>;
  outputs: readonly string[];
}): Pick<FunctionStepEnv, "FERRY_SITE" | "FERRY_INPUTS" | "FERRY_OUTPUTS"> {
  return {
    FERRY_SITE: step.site,
    FERRY_INPUTS: Object.fromEntries(step.inputs.map((name) => [name, step.inputSites[name] ?? step.site])),
    FERRY_OUTPUTS: [...step.outputs],
  };
}

/**
 * The cache fields of a function step's environment, from its manifest
 * entry: none when the step does not cache.
 */
export function functionStepCacheEnv(
  step: ManifestStep,
  table: string | undefined,
): Pick<FunctionStepEnv, "FERRY_DEFINITION_HASH" | "FERRY_CACHE" | "FERRY_CACHE_TABLE"> {
  if (!step.cache.enabled || !table) return { FERRY_DEFINITION_HASH: step.hash };
  return {
    FERRY_DEFINITION_HASH: step.hash,
    FERRY_CACHE: {
      hash: cacheDefinitionHash(step),
      ...(step.cache.ttlSeconds !== undefined ? { ttl: step.cache.ttlSeconds } : {}),
      ...(step.cache.key && step.cache.key.length > 0 ? { key: [...step.cache.key] } : {}),
    },
    FERRY_CACHE_TABLE: table,
  };
}

function formatEnv(values: Record<string, string | number | string[] | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return env;
}
