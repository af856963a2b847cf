import type { KeyObject } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { StepCache } from "@ferry/functions/cache";
import { AwsSecretResolver } from "@ferry/functions/secrets";
import { recordAwsCalls } from "@ferry/functions/worker";
import { type Logger, pino } from "pino";
import { DeferredJobFileStore } from "./aws/deferred-job-file-store.ts";
import type { ResolvedAgentConfig } from "./config.ts";
import { formatIdentity, selfIdentity } from "./instance.ts";
import { removeLeftJobDirs } from "./job-dirs.ts";
import { loadManifestSources } from "./manifest-sources.ts";
import { ManifestStore } from "./manifest-store.ts";
import { ManifestTrust } from "./manifest-trust.ts";
import { PrometheusMetrics } from "./ops/metrics.ts";
import { OpsServer } from "./ops/ops-server.ts";
import { TaskProtection } from "./ops/task-protection.ts";
import { claimWorkDir, StepGroups, type WorkDirClaim } from "./orphans.ts";
import { DockerRuntime } from "./runtimes/docker.ts";
import { FunctionRuntime } from "./runtimes/function.ts";
import { HttpRuntime } from "./runtimes/http.ts";
import { InContainerRuntime } from "./runtimes/in-container.ts";
import { createPodmanRuntime } from "./runtimes/podman.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import { Slots } from "./slots.ts";
import { StepUser } from "./step-user.ts";
import { tokenCheckOf } from "./token-check.ts";
import { AGENT_VERSION, createWorker, type RuntimeSet, type Worker } from "./worker.ts";

export interface AgentOptions {
  /** @default pino JSON logs on stdout at `config.logLevel` */
  logger?: Logger;
  /**
   * Command that starts the host of one function step; the standalone
   * `ferry-agent` passes itself (see `FunctionRuntimeOptions.hostCommand`).
   * @default Node with tsx, running the host from sources
   */
  functionHostCommand?: string[];
}

/**
 * The edge agent (`ferry agent`): one worker per queue sharing one pool of
 * slots, SQS + Step Functions + S3 adapters, the configured container
 * engine, and the `/healthz` + `/metrics` server.
 */
export class Agent {
  readonly logger: Logger;
  readonly metrics: PrometheusMetrics;
  private workers: Worker[] = [];
  private ops: OpsServer | undefined;
  private runtimes: RuntimeSet = {};
  private stepUser: StepUser | undefined;
  private protection: TaskProtection | undefined;
  private claim: WorkDirClaim | undefined;
  private readonly functionHostCommand: string[] | undefined;
  /** Port `/healthz` and `/metrics` listen on, once started (0 when disabled). */
  metricsPort = 0;

  constructor(
    readonly config: ResolvedAgentConfig,
    options: AgentOptions = {},
  ) {
    this.logger =
      options.logger ?? pino({ level: config.logLevel, base: { site: config.site, pid: process.pid } });
    this.functionHostCommand = options.functionHostCommand;
    this.metrics = new PrometheusMetrics(() => this.workers.reduce((n, w) => n + w.runningCount, 0));
  }

  /** Connects to AWS and the engine, loads manifests, and starts every worker. */
  async start(): Promise<void> {
    const { config } = this;
    // Before anything else: an agent that cannot switch users must not start and run steps as itself.
    if (config.steps.user !== undefined) {
      this.stepUser = StepUser.resolve(config.steps);
      this.stepUser.assertCanSwitch();
      this.logger.info(
        { stepUser: this.stepUser.name, uid: this.stepUser.uid, gid: this.stepUser.gid },
        "process and function steps run as their own user",
      );
    }
    const cacheDir = config.cacheDir ?? join(dirname(config.workDir), "cache");
    await this.stepUser?.prepareCacheDir(cacheDir);
    // Loaded here, not at import: `ferry run` and tests never pay for the AWS SDK. S3 (job files, S3
    // manifests, the step cache) and KMS (signed manifests) are loaded only once something needs them:
    // an idle agent keeps their code unevaluated.
    const [{ SQSClient }, { SFNClient }, { SqsQueue }, { SfnCompletion }, { LocalStackCompletion }] =
      await Promise.all([
        import("@aws-sdk/client-sqs"),
        import("@aws-sdk/client-sfn"),
        import("./aws/sqs-queue.ts"),
        import("./aws/sfn-completion.ts"),
        import("./aws/localstack-completion.ts"),
      ]);
    const clientConfig = {
      ...(config.aws.region ? { region: config.aws.region } : {}),
      ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    };
    // Recorded only when FERRY_RECORD_AWS_CALLS is set (the IAM evidence tests).
    const who = { kind: "agent", site: config.site } as const;
    let s3Client: Promise<S3Client> | undefined;
    const s3 = (): Promise<S3Client> => {
      s3Client ??= import("@aws-sdk/client-s3").then(({ S3Client }) =>
        recordAwsCalls(new S3Client({ ...clientConfig, forcePathStyle: Boolean(config.aws.endpoint) }), who),
      );
      return s3Client;
    };
    const sqs = recordAwsCalls(new SQSClient(clientConfig), who);
    const sfn = recordAwsCalls(new SFNClient(clientConfig), who);
    const trust = new ManifestTrust({
      site: config.site,
      ...(config.manifestHashes ? { hashes: config.manifestHashes } : {}),
      ...(config.manifestSigningKey
        ? {
            signingKey: config.manifestSigningKey,
            publicKey: await this.manifestPublicKey(config.manifestSigningKey, clientConfig, cacheDir, who),
          }
        : {}),
    });
    if (!trust.enforced)
      this.logger.warn(
        "neither manifestSigningKey nor manifestHashes is set: only local manifest files are used, as they are",
      );
    // Steps' { secret: … } references, read with the agent's own credentials and kept in memory only.
    const secrets = AwsSecretResolver.fromConfig(
      clientConfig,
      (client) => recordAwsCalls(client, who),
      config.secrets.cacheSeconds,
    );
    const manifests = new ManifestStore({
      load: () =>
        loadManifestSources(config.manifests, {
          trust,
          readS3: async (Bucket, Key) => {
            const [client, { GetObjectCommand }] = await Promise.all([s3(), import("@aws-sdk/client-s3")]);
            const out = await client.send(new GetObjectCommand({ Bucket, Key }));
            return out.Body!.transformToString();
          },
        }),
      reloadIntervalMs: config.manifestReloadIntervalSeconds * 1000,
      logger: this.logger,
    });
    // One live agent per work folder; what a crashed predecessor left running is stopped before anything runs.
    await mkdir(config.workDir, { recursive: true, mode: 0o700 });
    this.claim = claimWorkDir(config.workDir);
    const previous = this.claim.previous;
    const groups = new StepGroups(config.workDir);
    const reapedGroups = await groups.reap();
    if (reapedGroups.some((g) => g.killed > 0))
      this.logger.warn(
        { previousPid: previous?.pid, groups: reapedGroups.filter((g) => g.killed > 0) },
        "stopped step process groups a previous agent instance left running",
      );
    this.runtimes = await this.createRuntimes(groups);
    const stepUser = this.stepUser;
    const freed = await removeLeftJobDirs(
      config.workDir,
      stepUser ? (dir) => stepUser.reclaim(dir) : undefined,
    );
    if (freed.length > 0)
      this.logger.warn({ jobDirs: freed.length }, "removed job folders a previous agent instance left");
    const slots = new Slots(config.concurrency);
    const protection = config.taskProtection.agentUri
      ? new TaskProtection({ agentUri: config.taskProtection.agentUri, logger: this.logger })
      : undefined;
    if (protection) this.logger.info("ECS task protection is requested while steps run");
    // Protection covers a step from its start until it was answered (or handed back).
    const hooks = protection
      ? {
          onAttemptStarted: (a: { token: string; workflow: string; step: string }) =>
            protection.acquire(a.token, manifests.resolve(a.workflow, a.step)?.timeoutSeconds ?? 3600),
          onAttemptFinished: (a: { token: string }) => protection.release(a.token),
        }
      : undefined;
    this.protection = protection;
    const completion =
      tokenCheckOf(config.aws) === "history" ? new LocalStackCompletion(sfn) : new SfnCompletion(sfn);
    const jobFiles = new DeferredJobFileStore(async () => {
      const [client, { S3JobFileStore }] = await Promise.all([s3(), import("@ferry/functions/job-files/s3")]);
      return new S3JobFileStore({
        client,
        cacheDir,
        ...(config.cacheMaxBytes !== undefined ? { cacheMaxBytes: config.cacheMaxBytes } : {}),
      });
    });
    const stepCache = config.stepCache
      ? await this.stepCache(config.stepCache, await s3(), clientConfig, who)
      : undefined;
    if (!config.jobBuckets)
      this.logger.warn(
        "jobBuckets is not set: messages may name any job bucket (set it to the stack's job bucket)",
      );
    await manifests.reload();
    this.logger.info(
      {
        workflows: manifests.workflows,
        queues: config.queues.length,
        runtime: config.runtime,
        manifestTrust: config.manifestSigningKey
          ? `signed by ${config.manifestSigningKey}`
          : config.manifestHashes
            ? "pinned hashes"
            : "local files",
      },
      "manifests loaded",
    );
    this.workers = config.queues.map((queue) =>
      createWorker({
        queue: new SqsQueue({
          client: sqs,
          queueUrl: queue.url,
          ...(queue.deadLetterUrl ? { deadLetterUrl: queue.deadLetterUrl } : {}),
        }),
        completion,
        manifests,
        runtimes: this.runtimes,
        jobFiles,
        workDir: config.workDir,
        ...(this.stepUser ? { stepUser: this.stepUser } : {}),
        slots,
        site: config.site,
        ...(config.jobBuckets ? { jobBuckets: config.jobBuckets } : {}),
        logger: this.logger,
        logCapBytes: config.logCapBytes,
        uploadLogs: true,
        visibilitySeconds: config.visibilityTimeoutSeconds,
        ...(config.heartbeatIntervalSeconds
          ? { heartbeatIntervalMs: config.heartbeatIntervalSeconds * 1000 }
          : {}),
        shutdownGraceMs: config.shutdownGraceSeconds * 1000,
        metrics: this.metrics,
        secrets,
        ...(hooks ? { hooks } : {}),
        ...(stepCache ? { cache: stepCache } : {}),
        identity: { agent: `ferry-agent/${AGENT_VERSION}` },
      }),
    );
    if (config.metrics.port > 0) {
      this.ops = new OpsServer({
        host: config.metrics.host,
        port: config.metrics.port,
        registry: this.metrics.registry,
        health: () => {
          const states = this.workers.map((w) => w.state);
          return {
            healthy: states.every((s) => s === "RUNNING"),
            states,
            running: slots.busy,
            site: config.site,
          };
        },
      });
      this.metricsPort = await this.ops.listen();
    }
    await Promise.all(this.workers.map((w) => w.start()));
    this.logger.info({ metricsPort: this.metricsPort, concurrency: config.concurrency }, "agent running");
  }

  /** Drains every worker (grace from the config), then closes the metrics server. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    await Promise.all(Object.values(this.runtimes).map((r) => r?.close?.()));
    await this.protection?.settled();
    await this.ops?.close();
    this.claim?.release();
    this.logger.info("agent stopped");
  }

  /** The key signed manifests are checked with: KMS's SDK is loaded only for an agent configured with one. */
  private async manifestPublicKey(
    keyId: string,
    clientConfig: { region?: string; endpoint?: string },
    cacheDir: string,
    who: Parameters<typeof recordAwsCalls>[1],
  ): Promise<() => Promise<KeyObject>> {
    const [{ KMSClient }, { kmsPublicKey }] = await Promise.all([
      import("@aws-sdk/client-kms"),
      import("./aws/kms-public-key.ts"),
    ]);
    return kmsPublicKey({ client: recordAwsCalls(new KMSClient(clientConfig), who), keyId, cacheDir });
  }

  /** The cloud step cache, its SDK loaded only when configured. */
  private async stepCache(
    options: NonNullable<ResolvedAgentConfig["stepCache"]>,
    s3: S3Client,
    clientConfig: { region?: string; endpoint?: string },
    who: Parameters<typeof recordAwsCalls>[1],
  ): Promise<StepCache> {
    const [{ DynamoDBClient }, { S3StepCache }] = await Promise.all([
      import("@aws-sdk/client-dynamodb"),
      import("@ferry/functions/cache/s3"),
    ]);
    return new S3StepCache({
      s3,
      dynamodb: recordAwsCalls(new DynamoDBClient(clientConfig), who),
      bucket: options.bucket,
      table: options.table,
      site: this.config.site,
    });
  }

  private async createRuntimes(groups: StepGroups): Promise<RuntimeSet> {
    const { config } = this;
    const projectDir = config.projectDir ?? process.cwd();
    const stepUser = this.stepUser ? { stepUser: this.stepUser } : {};
    const runtimes: RuntimeSet = {
      process: new ProcessRuntime({ projectDir, groups, ...stepUser }),
      function: new FunctionRuntime({
        projectDir,
        groups,
        ...stepUser,
        ...(this.functionHostCommand ? { hostCommand: this.functionHostCommand } : {}),
      }),
      http: new HttpRuntime({ maxResponseBytes: config.http.maxResponseBytes }),
    };
    if (config.runtime === "process") return runtimes;
    if (config.runtime === "in-container") {
      // The container's own environment (the image's ENV) reaches the step, as it would in a
      // plain `docker run`; the agent's settings and AWS/ECS credentials pointers do not.
      const inheritEnv = Object.keys(process.env).filter((name) => !/^(FERRY_|AWS_|ECS_)/.test(name));
      runtimes.container = new InContainerRuntime({
        projectDir,
        ...stepUser,
        inheritEnv,
        image: config.inContainer.image!,
        ...(config.concurrency === 1 ? { jobLink: config.inContainer.jobLink } : {}),
      });
      return runtimes;
    }
    const engine = {
      pullPolicy: config.engine.pullPolicy,
      gpus: config.engine.gpus,
      ...config.containers,
      // One agent per work folder: containers labelled with it belong to this agent's earlier lives.
      owner: `${config.site}:${config.workDir}`,
      instance: formatIdentity(selfIdentity()),
      ...(config.engine.socketPath ? { socketPath: config.engine.socketPath } : {}),
    };
    const container = config.runtime === "podman" ? createPodmanRuntime(engine) : new DockerRuntime(engine);
    await container.ping();
    const limits = await container.limitsProblem();
    if (limits) this.logger.warn(limits);
    const reaped = await container.reapOrphans();
    if (reaped > 0)
      this.logger.warn({ reaped }, "stopped task containers a previous agent instance left running");
    runtimes.container = container;
    return runtimes;
  }
}

export function createAgent(config: ResolvedAgentConfig, options?: AgentOptions): Agent {
  return new Agent(config, options);
}
