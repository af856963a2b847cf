import { DEFAULT_LOG_CAP_BYTES } from "@ferry/functions/worker";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * `agent.yaml`. Every field can also come from a `FERRY_*` variable or a
 * flag (see `ferry agent --help`); flags win over the environment, which
 * wins over the file.
 */
const AgentConfigFields = z.strictObject({
  /** The site this agent serves; steps placed elsewhere are dead-lettered. */
  site: z.string().min(1),
  /** Labels of this device (arch, gpu…), for logs and placement checks. */
  labels: z.record(z.string(), z.string()).default({}),
  /** Queues to long-poll (one per workflow site queue). */
  queues: z
    .array(z.strictObject({ url: z.url(), deadLetterUrl: z.url().optional() }))
    .min(1, "name at least one queue URL (queues[].url, FERRY_QUEUE_URLS or --queue-url)"),
  /** Steps run at once across all queues. @default 2 */
  concurrency: z.number().int().min(1).max(256).default(2),
  /**
   * Engine for container steps; `process` runs no containers; `in-container`
   * runs container steps as processes in the container the agent runs in
   * (Fargate: the step's own image, see `inContainer`). @default "docker"
   */
  runtime: z.enum(["docker", "podman", "process", "in-container"]).default("docker"),
  /** Settings of the `in-container` runtime. */
  inContainer: z
    .strictObject({
      /** The image this container runs; container steps naming another image fail. */
      image: z.string().min(1).optional(),
      /**
       * Where steps see their job folder when the agent runs one step at a
       * time (`concurrency: 1`); with more, steps use `$FERRY_JOB_DIR`. @default "/ferry/job"
       */
      jobLink: z.string().startsWith("/").default("/ferry/job"),
    })
    .prefault({}),
  /**
   * ECS task scale-in protection while steps run, through the task's ECS
   * agent endpoint. @default on when `ECS_AGENT_URI` is set (every ECS task)
   */
  taskProtection: z
    .strictObject({
      /** e.g. `http://169.254.170.2/api/<task>`. @default $ECS_AGENT_URI */
      agentUri: z.url().optional(),
    })
    .prefault({}),
  engine: z
    .strictObject({
      /** @default the engine's usual socket */
      socketPath: z.string().min(1).optional(),
      /** @default "missing" */
      pullPolicy: z.enum(["never", "missing", "always"]).default("missing"),
      /** GPUs steps may request on this device. @default 0 */
      gpus: z.number().int().min(0).max(64).default(0),
    })
    .prefault({}),
  /** Scratch folder for attempts' job folders. @default "/var/lib/ferry/work" */
  workDir: z.string().min(1).default("/var/lib/ferry/work"),
  /** Cache of downloaded job files. @default `<workDir>/../cache` */
  cacheDir: z.string().min(1).optional(),
  /** Size the download cache is evicted down to (least recently used first). @default 10 GiB */
  cacheMaxBytes: z.number().int().min(0).optional(),
  /**
   * The workflow's step cache in the cloud (the stack's `cacheTable` from the
   * deployment parameter, and its job bucket): `cache:` steps are answered
   * from entries any site wrote. Unset: every step runs.
   */
  stepCache: z.strictObject({ bucket: z.string().min(1), table: z.string().min(1) }).optional(),
  /**
   * Buckets job files may come from (the stack's job bucket); a message
   * naming another bucket is dead-lettered. @default any bucket
   */
  jobBuckets: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Who process and function steps run as. Unset: the agent's own user (as
   * before). Set: a dedicated unprivileged user (install.sh creates
   * `ferry-step`); the agent must then be root or hold CAP_SETUID,
   * CAP_SETGID, CAP_CHOWN and CAP_KILL, checked at startup.
   */
  steps: z
    .strictObject({
      /** User name or uid. @default the agent's user */
      user: z.union([z.string().min(1), z.number().int().min(1)]).optional(),
      /** Group name or gid. @default the user's primary group */
      group: z.union([z.string().min(1), z.number().int().min(1)]).optional(),
    })
    .prefault({}),
  /** Relaxations of the container hardening defaults; a spec alone can never relax them. */
  containers: z
    .strictObject({
      /** Let images whose user is root run as root. @default false */
      allowRoot: z.boolean().default(false),
      /** Let `network: host` steps run. @default false */
      allowHostNetwork: z.boolean().default(false),
      /** Host folders steps may bind. @default none */
      allowedHostPaths: z.array(z.string().startsWith("/")).default([]),
      /** @default 256 */
      pidsLimit: z.number().int().min(16).max(65_536).default(256),
      /** @default 64 */
      tmpfsMiB: z.number().int().min(1).max(65_536).default(64),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** Largest HTTP step response body read. @default 10485760 */
      maxResponseBytes: z
        .number()
        .int()
        .min(1024)
        .default(10 * 1024 * 1024),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      /** How long a secret read from SSM or Secrets Manager is kept in memory (never on disk); 0 reads it for every attempt. @default 60 */
      cacheSeconds: z.number().int().min(0).max(3600).default(60),
    })
    .prefault({}),
  /** Folder relative process working dirs and function files resolve against. @default the current directory */
  projectDir: z.string().min(1).optional(),
  /** Trusted manifests: file paths or `s3://bucket/key` URLs. */
  manifests: z
    .array(z.string().min(1))
    .min(1, "name at least one manifest (manifests, FERRY_MANIFESTS or --manifest)"),
  /**
   * KMS key (ARN) whose signature every manifest must carry: `ferry deploy`
   * signs each site's manifest with the stack's key and writes it into the
   * agent configs. The agent fetches the public key once (kms:GetPublicKey),
   * keeps it under the cache folder and verifies locally; an unsigned,
   * altered or foreign-key manifest is refused. @default none
   */
  manifestSigningKey: z.string().min(1).optional(),
  /**
   * Pinned manifest hashes (the `hash` of each trusted manifest): a manifest
   * whose hash is not listed is refused. Every redeploy that changes a
   * site's steps changes its hash; `ferry deploy` names those sites. @default none
   */
  manifestHashes: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, "must be a manifest hash (64 hex digits)"))
    .min(1)
    .optional(),
  /** Least time between two manifest reloads (a message naming an unknown step reloads). @default 30 */
  manifestReloadIntervalSeconds: z.number().min(0).max(86_400).default(30),
  /** Fixed heartbeat period; by default a third of each step's heartbeatSeconds. */
  heartbeatIntervalSeconds: z.number().positive().optional(),
  /** @default 60 */
  visibilityTimeoutSeconds: z.number().int().min(10).max(43_200).default(60),
  /** How long SIGTERM lets running steps finish before handing them back. @default 30 */
  shutdownGraceSeconds: z.number().min(0).max(86_400).default(30),
  /** Cap on each of stdout and stderr kept per attempt. @default 1048576 */
  logCapBytes: z.number().int().min(1024).default(DEFAULT_LOG_CAP_BYTES),
  metrics: z
    .strictObject({
      /** @default "127.0.0.1" */
      host: z.string().min(1).default("127.0.0.1"),
      /** `/healthz` and `/metrics`; 0 disables. @default 9464 */
      port: z.number().int().min(0).max(65_535).default(9464),
    })
    .prefault({}),
  aws: z
    .strictObject({
      region: z.string().min(1).optional(),
      /** e.g. `http://127.0.0.1:4566` for LocalStack. */
      endpoint: z.url().optional(),
      /**
       * How a task token is checked before a step runs: one heartbeat, or a
       * read of the execution's history (LocalStack, whose heartbeats cannot
       * check a token). @default "history" for an endpoint on a loopback
       * address, else "heartbeat"
       */
      tokenCheck: z.enum(["heartbeat", "history"]).optional(),
    })
    .prefault({}),
  /** @default "info" */
  logLevel: z.enum(LOG_LEVELS).default("info"),
});

/** `agent.yaml` with its rules across fields. */
export const AgentConfigSchema = AgentConfigFields.superRefine((config, ctx) => {
  if (config.runtime === "in-container" && config.inContainer.image === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["inContainer", "image"],
      message:
        "the in-container runtime needs the image it runs in (FERRY_STEP_IMAGE), so it refuses steps of other images",
    });
  }
});

export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
export type ResolvedAgentConfig = z.output<typeof AgentConfigSchema>;
