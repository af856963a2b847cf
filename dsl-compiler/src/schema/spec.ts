import { z } from "zod";

/**
 * Ferry workflow spec v1. This zod schema is the single source of truth:
 * the JSON Schema for editors (`ferry schema`) is generated from it.
 *
 * Cross-field rules (unique names, known dependencies, cycles, one runtime per
 * step, site labels) live in `check/`, where they can name the exact place.
 */

export const WORKFLOW_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const STEP_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,79}$/;
export const SITE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$/;

/** Longest task Step Functions accepts is one year; longer is a typo. */
export const MAX_TIMEOUT_SECONDS = 31_536_000;
export const MAX_RETRY_ATTEMPTS = 10;

const workflowName = z
  .string()
  .regex(
    WORKFLOW_NAME_PATTERN,
    "must be 1–64 characters of a-z, 0-9 and '-', starting with a letter or digit",
  );
const stepName = z
  .string()
  .regex(
    STEP_NAME_PATTERN,
    "must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,79}$ (letters, digits, '_' and '-', ≤ 80)",
  );
const siteName = z
  .string()
  .regex(
    SITE_NAME_PATTERN,
    "must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$ (letters, digits, '_' and '-', ≤ 40)",
  );
const labels = z.record(z.string().min(1), z.string()).describe("Labels such as arch, gpu, zone.");
/** `{ secret: "ssm:/path" }` or `{ secret: "secretsmanager:name#key" }`: read at run time, never compiled in. Spec 1.1. */
export const SecretRefSchema = z
  .strictObject({
    secret: z
      .string()
      .min(1)
      .describe(
        'A secret read at run time: "ssm:/parameter/name" (SecureString decrypted) or "secretsmanager:name" / "secretsmanager:name#jsonKey". Spec 1.1.',
      ),
  })
  .describe("A secret reference; its value never appears in the ASL, template or manifest. Spec 1.1.");
/** Env values and HTTP headers: plain text, or a secret reference (1.1). */
const secretableMap = z.record(z.string().min(1), z.union([z.string(), SecretRefSchema]));
const seconds = (max: number) => z.number().int().min(1).max(max);
const heartbeatSeconds = z
  .number()
  .int()
  .min(0)
  .max(MAX_TIMEOUT_SECONDS)
  .describe(
    "Seconds within which a running step must heartbeat; it must be shorter than the step's timeout. 0 turns the heartbeat off: a lost worker is then noticed only at the timeout.",
  );

export const RetrySchema = z
  .strictObject({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(MAX_RETRY_ATTEMPTS)
      .describe("Total attempts, the first included."),
    intervalSeconds: z.number().int().min(0).max(3600).default(1),
    backoffRate: z.number().min(1).max(10).default(2),
    maxDelaySeconds: z.number().int().min(1).max(86_400).optional(),
    jitter: z.enum(["FULL", "NONE"]).optional(),
  })
  .describe("Retry policy; maps onto the Task state's Retry field.");

/** Spec language versions this Ferry reads; a spec without `version:` is 1.0. */
export const SPEC_VERSIONS = ["1.0", "1.1"] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];
export const LATEST_SPEC_VERSION: SpecVersion = "1.1";

/**
 * What happens when a step fails after its retries: `fail` fails the run,
 * `continue` hands `{ error, cause }` to its dependants as its output, and
 * any other value names a step under `handlers:` that receives the failure
 * and whose output replaces the step's. (1.1)
 */
export const OnFailureSchema = z
  .string()
  .regex(STEP_NAME_PATTERN, 'must be "fail", "continue" or the name of a step under handlers:')
  .describe('"fail" (default), "continue", or the name of a step under handlers:. Spec 1.1.');

/** `30s`, `15m`, `12h`, `7d`: how long a cache entry answers. */
export const DURATION_PATTERN = /^([1-9]\d{0,8})(s|m|h|d)$/;

export const CacheSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      enabled: z.boolean().default(true),
      ttl: z
        .string()
        .regex(DURATION_PATTERN, 'must be a duration such as "30s", "15m", "12h" or "7d"')
        .optional()
        .describe("How long an entry answers after it was written; absent: until evicted. Spec 1.1."),
      key: z
        .array(z.string())
        .optional()
        .describe("Extra strings mixed into the cache key (bump one to invalidate every entry)."),
    }),
  ])
  .describe(
    "Reuse the output of an earlier identical run of this step: keyed on the step's definition, image digest or code hash, input and input job-file content.",
  );

export const DefaultsSchema = z.strictObject({
  retry: RetrySchema.optional(),
  timeoutSeconds: seconds(MAX_TIMEOUT_SECONDS).optional(),
  heartbeatSeconds: heartbeatSeconds.optional(),
  onFailure: OnFailureSchema.optional(),
  /** Applies to every step without its own `cache:`. Spec 1.1. */
  cache: CacheSchema.optional(),
});

export const AwsSiteSchema = z.strictObject({
  type: z.literal("aws"),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as us-east-1"),
  labels: labels.optional(),
});

export const EdgeSiteSchema = z.strictObject({
  type: z.literal("edge"),
  labels: labels.optional(),
  description: z.string().optional(),
});

export const SiteSchema = z.discriminatedUnion("type", [AwsSiteSchema, EdgeSiteSchema]);

const command = z.array(z.string()).min(1, "must name at least the program to run");

export const ProcessSchema = z.strictObject({
  command,
  env: secretableMap.optional(),
  workingDir: z.string().min(1).optional(),
});

/** A host folder bound into a container step; needs `allowHost: true` on the step and the agent config's `containers.allowedHostPaths`. */
export const VolumeSchema = z.strictObject({
  hostPath: z.string().min(1),
  containerPath: z.string().startsWith("/", "must be an absolute path"),
  readOnly: z.boolean().default(true),
});

export const ContainerSchema = z.strictObject({
  image: z.string().min(1).max(512),
  command: command.optional(),
  entrypoint: command.optional(),
  env: secretableMap.optional(),
  network: z.enum(["none", "host", "bridge"]).default("none"),
  volumes: z.array(VolumeSchema).optional(),
  workingDir: z.string().min(1).optional(),
  allowHost: z
    .boolean()
    .optional()
    .describe(
      "Must be true for a step that uses network: host or volumes (host folders); refused on a step that uses neither. The agent's config must allow the network or folder as well. Spec 1.1.",
    ),
});

export const FunctionSchema = z.strictObject({
  handler: z
    .string()
    .regex(/^[^#\s]+\.(ts|js|mjs|mts)#[A-Za-z_$][\w$]*$/, 'must be "path/to/file.ts#exportName"'),
  memoryMiB: z.number().int().min(128).max(10_240).optional(),
  env: secretableMap.optional(),
});

export const HttpSchema = z.strictObject({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
  url: z.url({ protocol: /^https?$/ }),
  headers: secretableMap.optional(),
  body: z.unknown().optional(),
});

export const ResourcesSchema = z.strictObject({
  cpu: z.number().positive().max(192).optional(),
  memoryMiB: z.number().int().min(16).max(1_048_576).optional(),
  gpu: z.number().int().min(0).max(16).optional(),
});

/** Record formats `foreach.records` reads; each is one S3 ItemReader InputType. */
export const RECORD_FORMATS = ["json", "csv", "jsonl"] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

export const ForeachSchema = z
  .strictObject({
    items: z
      .string()
      .regex(
        /^(input|deps\.[a-zA-Z0-9_-]+)(\.[a-zA-Z0-9_-]+)*$/,
        'must be a path into the step input, e.g. "input.files" or "deps.extract.items"',
      )
      .optional()
      .describe("A list in the step input: an inline Map, whose items and results must fit in 256 KiB."),
    files: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        'One item per job file whose name starts with this prefix (e.g. "parts/"), written by upstream steps: a Distributed Map over an S3 listing. Spec 1.1.',
      ),
    records: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        "One item per record of this job file (a JSON array, CSV with a header line, or JSON lines), written by an upstream step: a Distributed Map reading it from S3. Spec 1.1.",
      ),
    format: z
      .enum(RECORD_FORMATS)
      .optional()
      .describe(
        "Format of the records file. Default: from its extension (.json, .csv, .jsonl/.ndjson). Spec 1.1.",
      ),
    maxConcurrency: z.number().int().min(0).max(10_000).default(0),
    batch: z
      .strictObject({
        maxItems: z
          .number()
          .int()
          .min(1)
          .max(100_000_000)
          .optional()
          .describe("Most items per batch (Step Functions' MaxItemsPerBatch)."),
        maxBytes: z
          .number()
          .int()
          .min(1)
          .max(262_144)
          .optional()
          .describe("Most bytes of JSON per batch, up to 256 KiB (MaxInputBytesPerBatch)."),
        input: z
          .record(z.string(), z.unknown())
          .optional()
          .describe("A JSON object every batch carries as item.BatchInput (Step Functions' BatchInput)."),
      })
      .optional()
      .describe(
        "files/records only: run each child on a batch of items (an ItemBatcher); the step's item is then { Items: [...], BatchInput }. Name maxItems, maxBytes or both. Not on LocalStack 4.14. Spec 1.1.",
      ),
    toleratedFailurePercentage: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe(
        "files/records only: the step succeeds while at most this percentage of its items fail; failed items are reported with their index. Default 0. Spec 1.1.",
      ),
  })
  .describe(
    "Fan-out: exactly one of items (inline Map), files or records (Distributed Map with child executions, results written to the job bucket).",
  );

export const StepSchema = z.strictObject({
  name: stepName,
  description: z.string().optional(),
  depends: z.array(stepName).default([]),
  site: siteName,
  process: ProcessSchema.optional(),
  container: ContainerSchema.optional(),
  function: FunctionSchema.optional(),
  http: HttpSchema.optional(),
  resources: ResourcesSchema.optional(),
  retry: RetrySchema.optional(),
  timeoutSeconds: seconds(MAX_TIMEOUT_SECONDS).optional(),
  heartbeatSeconds: heartbeatSeconds.optional(),
  inputs: z.array(z.string().min(1)).optional().describe("Job files staged before the step runs."),
  outputs: z.array(z.string().min(1)).optional().describe("Job files uploaded after the step succeeds."),
  foreach: ForeachSchema.optional(),
  requires: z.strictObject({ labels }).optional(),
  cache: CacheSchema.optional(),
  onFailure: OnFailureSchema.optional(),
  hints: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "Free-form characteristics for the simulator: durationSeconds, outputBytes, cpu and foreachItems are read; other keys are kept and ignored.",
    ),
});

/** A step that runs outside the DAG (a failure handler or a `finally` step): no depends, foreach or onFailure. */
export const SideStepSchema = StepSchema.omit({ depends: true, foreach: true, onFailure: true });

/** `$` (the whole event) or a dotted path into it, such as `$.detail.object.key` or `$.resources[0]`. */
export const EVENT_PATH_PATTERN = /^\$(\.[A-Za-z0-9_-]+|\[\d+\])*$/;
export const TRIGGER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$/;

export const S3TriggerSchema = z
  .strictObject({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
      .optional()
      .describe(
        "Bucket whose new objects start a run; it must send events to EventBridge. Absent: the workflow's own job-files bucket (prefix required).",
      ),
    prefix: z.string().min(1).max(1024).optional().describe("Object keys must start with this."),
    suffix: z.string().min(1).max(1024).optional().describe('Object keys must end with this, e.g. ".csv".'),
  })
  .describe("Object Created events of an S3 bucket, through EventBridge.");

export const TriggerSchema = z
  .strictObject({
    name: z
      .string()
      .regex(TRIGGER_NAME_PATTERN, "must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$")
      .optional()
      .describe('Names the rule; default "<kind>-<position>", e.g. "schedule-1".'),
    description: z.string().max(512).optional(),
    schedule: z
      .string()
      .optional()
      .describe('EventBridge schedule expression (UTC): "rate(5 minutes)" or "cron(0 12 * * ? *)".'),
    s3: S3TriggerSchema.optional(),
    event: z
      .record(z.string().min(1), z.unknown())
      .optional()
      .describe("EventBridge event pattern on the default event bus, e.g. { source: [my.app] }."),
    input: z
      .unknown()
      .optional()
      .describe(
        'Execution input built from the event: strings such as "$.detail.object.key" are paths into the event, anything else is kept as written. Default: the whole event.',
      ),
    enabled: z.boolean().default(true).describe("A disabled trigger keeps its rule, switched off."),
  })
  .describe("What starts a run: exactly one of schedule, s3 or event. Spec 1.1.");

/** An SNS topic ARN, such as `arn:aws:sns:us-east-1:123456789012:runs`. */
export const SNS_TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** A callback URL: https, or plain http to a loopback address (a receiver on the same machine, as in tests). */
const callbackUrl = z
  .string()
  .max(2048)
  .refine((text) => {
    try {
      const url = new URL(text);
      if (url.username || url.password) return false;
      return (
        url.protocol === "https:" ||
        (url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
      );
    } catch {
      return false;
    }
  }, "must be an https URL without credentials (plain http only to 127.0.0.1, localhost or [::1])");

export const NotifySchema = z
  .strictObject({
    http: z
      .strictObject({
        url: callbackUrl.describe("Where each result is POSTed, as JSON."),
        secret: SecretRefSchema.describe(
          'The HMAC key: the body is signed as Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>.',
        ),
      })
      .optional()
      .describe(
        "A signed HTTP callback, posted by the stack's notify function (a Lambda the notify rule invokes) or by ferry run.",
      ),
    sns: z
      .union([
        z
          .string()
          .regex(SNS_TOPIC_ARN_PATTERN, "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"),
        z.strictObject({
          create: z.literal(true).describe("The stack creates the topic and outputs its ARN."),
        }),
      ])
      .describe(
        'A topic ARN, or { create: true } for a topic the stack creates (output "<Prefix>NotifyTopicArn").',
      )
      .optional(),
  })
  .refine((n) => (n.sns === undefined) !== (n.http === undefined), {
    message: "names exactly one of sns (a topic) or http (a signed callback)",
  })
  .describe(
    "Where the result of every execution is announced, on success and on failure: a versioned JSON message { v: 1, workflow, executionArn, status, output, error, cause, time }. Spec 1.1.",
  );

export const WorkflowSpecSchema = z.strictObject({
  version: z
    .string()
    .regex(/^\d+\.\d+$/, 'must be a language version such as "1.1"')
    .optional()
    .describe('Spec language version; absent means "1.0". Fields marked 1.1 need "1.1".'),
  name: workflowName,
  description: z.string().optional(),
  sites: z.record(siteName, SiteSchema),
  defaults: DefaultsSchema.optional(),
  input: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("JSON Schema (draft 2020-12) the run input must satisfy. Spec 1.1."),
  steps: z.array(StepSchema),
  handlers: z
    .array(SideStepSchema)
    .optional()
    .describe("Steps that run only when a step naming them in onFailure fails. Spec 1.1."),
  finally: z
    .array(SideStepSchema)
    .optional()
    .describe("Steps that always run after the others, one after the other, even after a failure. Spec 1.1."),
  triggers: z
    .array(TriggerSchema)
    .max(50)
    .optional()
    .describe("Schedules, S3 uploads and EventBridge events that start a run. Spec 1.1."),
  notify: NotifySchema.optional(),
});

export type WorkflowSpec = z.output<typeof WorkflowSpecSchema>;
export type StepSpec = z.output<typeof StepSchema>;
export type SideStepSpec = z.output<typeof SideStepSchema>;
export type SiteSpec = z.output<typeof SiteSchema>;
export type RetrySpec = z.output<typeof RetrySchema>;
export type TriggerSpec = z.output<typeof TriggerSchema>;
export type NotifySpec = z.output<typeof NotifySchema>;

/** The three kinds of trigger; exactly one per trigger. */
export const TRIGGER_KINDS = ["schedule", "s3", "event"] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** The four ways a step can run; exactly one per step. */
export const RUNTIME_KINDS = ["process", "container", "function", "http"] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];
