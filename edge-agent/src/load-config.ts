import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseWorkerEnv, type WorkerEnv } from "@ferry/dsl-compiler/contract";
import { parse as parseYaml } from "yaml";
import { AgentConfigSchema, type ResolvedAgentConfig } from "./config.ts";
import { AgentError, messageOf } from "./errors.ts";

type Json = Record<string, unknown>;

/** Flags of `ferry agent`, with the config path each one sets. */
export const AGENT_FLAGS = {
  config: { type: "string" },
  site: { type: "string" },
  "queue-url": { type: "string", multiple: true },
  "job-bucket": { type: "string", multiple: true },
  concurrency: { type: "string" },
  runtime: { type: "string" },
  "engine-socket": { type: "string" },
  "pull-policy": { type: "string" },
  gpus: { type: "string" },
  "work-dir": { type: "string" },
  "project-dir": { type: "string" },
  "step-user": { type: "string" },
  manifest: { type: "string", multiple: true },
  "manifest-signing-key": { type: "string" },
  "manifest-hash": { type: "string", multiple: true },
  "manifest-reload-interval-seconds": { type: "string" },
  "shutdown-grace-seconds": { type: "string" },
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" },
  region: { type: "string" },
  "endpoint-url": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * The config path each variable of the worker environment contract
 * (`WorkerEnvSchema`, which `infra` writes too) sets; `FERRY_CONFIG` names the file.
 */
const ENV_PATHS: Record<Exclude<keyof WorkerEnv, "FERRY_CONFIG">, string> = {
  FERRY_SITE: "site",
  FERRY_QUEUE_URLS: "queues",
  FERRY_CONCURRENCY: "concurrency",
  FERRY_RUNTIME: "runtime",
  FERRY_ENGINE_SOCKET: "engine.socketPath",
  FERRY_PULL_POLICY: "engine.pullPolicy",
  FERRY_GPUS: "engine.gpus",
  FERRY_WORK_DIR: "workDir",
  FERRY_CACHE_DIR: "cacheDir",
  FERRY_PROJECT_DIR: "projectDir",
  FERRY_MANIFESTS: "manifests",
  FERRY_MANIFEST_SIGNING_KEY: "manifestSigningKey",
  FERRY_MANIFEST_HASHES: "manifestHashes",
  FERRY_MANIFEST_RELOAD_INTERVAL_SECONDS: "manifestReloadIntervalSeconds",
  FERRY_JOB_BUCKETS: "jobBuckets",
  FERRY_STEP_CACHE_BUCKET: "stepCache.bucket",
  FERRY_STEP_CACHE_TABLE: "stepCache.table",
  FERRY_HEARTBEAT_INTERVAL_SECONDS: "heartbeatIntervalSeconds",
  FERRY_VISIBILITY_TIMEOUT_SECONDS: "visibilityTimeoutSeconds",
  FERRY_SHUTDOWN_GRACE_SECONDS: "shutdownGraceSeconds",
  FERRY_METRICS_HOST: "metrics.host",
  FERRY_METRICS_PORT: "metrics.port",
  FERRY_AWS_REGION: "aws.region",
  FERRY_AWS_ENDPOINT: "aws.endpoint",
  FERRY_LOG_LEVEL: "logLevel",
  FERRY_STEP_IMAGE: "inContainer.image",
};

const FLAG_PATHS: Record<string, [string, "string" | "number" | "list"]> = {
  site: ["site", "string"],
  "queue-url": ["queues", "list"],
  "job-bucket": ["jobBuckets", "list"],
  concurrency: ["concurrency", "number"],
  runtime: ["runtime", "string"],
  "engine-socket": ["engine.socketPath", "string"],
  "pull-policy": ["engine.pullPolicy", "string"],
  gpus: ["engine.gpus", "number"],
  "work-dir": ["workDir", "string"],
  "project-dir": ["projectDir", "string"],
  "step-user": ["steps.user", "string"],
  manifest: ["manifests", "list"],
  "manifest-signing-key": ["manifestSigningKey", "string"],
  "manifest-hash": ["manifestHashes", "list"],
  "manifest-reload-interval-seconds": ["manifestReloadIntervalSeconds", "number"],
  "shutdown-grace-seconds": ["shutdownGraceSeconds", "number"],
  "metrics-port": ["metrics.port", "number"],
  "metrics-host": ["metrics.host", "string"],
  region: ["aws.region", "string"],
  "endpoint-url": ["aws.endpoint", "string"],
  "log-level": ["logLevel", "string"],
};

export interface LoadConfigOptions {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * Builds the agent's resolved config from `--config` (YAML or JSON),
 * `FERRY_*` variables and flags, in rising precedence. Relative paths
 * resolve against `cwd`. Throws `CONFIG_INVALID` naming every bad field.
 */
export async function loadAgentConfig(options: LoadConfigOptions): Promise<ResolvedAgentConfig> {
  const { values } = parseArgs({
    args: options.argv,
    options: AGENT_FLAGS,
    allowPositionals: false,
    strict: true,
  });
  const fromEnv = parseWorkerEnv(options.env);
  if (!fromEnv.ok) {
    throw new AgentError("CONFIG_INVALID", `agent environment is invalid:\n  ${fromEnv.issues.join("\n  ")}`);
  }
  const env = fromEnv.env;
  const configPath = values.config ?? env.FERRY_CONFIG;
  const merged: Json = configPath ? await readConfigFile(resolve(options.cwd, configPath)) : {};
  // The SDK's own variables are only defaults: a shell's AWS_REGION must not
  // send answers for a stack the config file places in another region.
  const aws = (merged.aws ?? {}) as Json;
  if (options.env.AWS_REGION && aws.region === undefined)
    setPath(merged, "aws.region", options.env.AWS_REGION);
  if (options.env.AWS_ENDPOINT_URL && aws.endpoint === undefined)
    setPath(merged, "aws.endpoint", options.env.AWS_ENDPOINT_URL);
  // ECS sets it in every task: protect the task from scale-in while steps run.
  if (options.env.ECS_AGENT_URI && (merged.taskProtection as Json | undefined)?.agentUri === undefined)
    setPath(merged, "taskProtection.agentUri", options.env.ECS_AGENT_URI);
  for (const [name, path] of Object.entries(ENV_PATHS)) {
    const value = env[name as keyof typeof ENV_PATHS];
    if (value === undefined) continue;
    setPath(merged, path, path === "queues" ? (value as string[]).map((url) => ({ url })) : value);
  }
  for (const [flag, [path, kind]] of Object.entries(FLAG_PATHS)) {
    const value = (values as Record<string, string | string[] | undefined>)[flag];
    if (value !== undefined) setPath(merged, path, convert(value, kind, path));
  }
  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const where = configPath ? `${configPath} (with env and flags)` : "agent config (env and flags)";
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new AgentError("CONFIG_INVALID", `${where} is invalid:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  for (const key of ["workDir", "cacheDir", "projectDir"] as const) {
    if (config[key]) config[key] = resolve(options.cwd, config[key]);
  }
  config.manifests = config.manifests.map((m) => (m.startsWith("s3://") ? m : resolve(options.cwd, m)));
  return config;
}

async function readConfigFile(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new AgentError("CONFIG_INVALID", `cannot read agent config ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new AgentError("CONFIG_INVALID", `${path} is not valid YAML: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new AgentError("CONFIG_INVALID", `${path} must hold a mapping of settings`);
  }
  return value as Json;
}

function convert(value: string | string[], kind: "string" | "number" | "list", path: string): unknown {
  if (kind === "list") {
    const items = (Array.isArray(value) ? value : value.split(",")).map((s) => s.trim()).filter(Boolean);
    return path === "queues" ? items.map((url) => ({ url })) : items;
  }
  const text = Array.isArray(value) ? value[value.length - 1]! : value;
  return kind === "number" && text.trim() !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
}

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1]!] = value;
}
