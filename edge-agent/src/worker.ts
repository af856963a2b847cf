import { mkdir } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { IrRuntime } from "@ferry/dsl-compiler";
import {
  heartbeatIntervalMs,
  type Manifest,
  type ManifestStep,
  parseStepMessage,
} from "@ferry/dsl-compiler/contract";
import type { StepCache } from "@ferry/functions/cache";
import type { JobFileStore } from "@ferry/functions/job-files";
import type { SecretResolver } from "@ferry/functions/secrets";
import {
  type BackoffOptions,
  DEFAULT_LOG_CAP_BYTES,
  type Logger,
  messageScopeProblem,
  pollQueue,
  type Queue,
  type QueueMessage,
  SILENT_LOGGER,
  sleep,
  withAwsCallContext,
} from "@ferry/functions/worker";
import packageJson from "../package.json" with { type: "json" };
import { AgentError, messageOf } from "./errors.ts";
import { NO_METRICS, type WorkerHooks, type WorkerMetrics } from "./events.ts";
import { JobDirs } from "./job-dirs.ts";
import { Lifecycle, type WorkerState } from "./lifecycle.ts";
import { ManifestStore } from "./manifest-store.ts";
import type { Completion, TokenCheck } from "./ports/completion.ts";
import { type RunnerContext, type RunningTask, runAttempt } from "./runner.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import { Slots } from "./slots.ts";
import type { StepUser } from "./step-user.ts";
import { checkToken } from "./token-check.ts";

/** The agent's version, as `ferry-agent --version` and provenance records name it. */
export const AGENT_VERSION: string = packageJson.version;

/** Seconds before a message whose token could not be checked comes back. */
const TOKEN_RETRY_SECONDS = 5;

/** The runtime serving each kind of step; a kind left out is refused with a clear error. */
export type RuntimeSet = Partial<Record<IrRuntime["kind"], Runtime>>;

export interface WorkerOptions {
  queue: Queue;
  completion: Completion;
  /** Trusted manifests: what a message's `workflow` + `step` mean. */
  manifests: ManifestStore | Manifest[];
  runtimes: RuntimeSet;
  /** Where job files and large outputs live; steps with inputs/outputs need one. */
  jobFiles?: JobFileStore;
  /** @default `<os tmpdir>/ferry-work` */
  workDir?: string;
  /** Steps run at once. @default 4 */
  concurrency?: number;
  /** Slots shared with other workers (one agent polling several queues); overrides `concurrency`. */
  slots?: Slots;
  /** When set, steps placed on another site are dead-lettered. */
  site?: string;
  /** Buckets job files may live in; a message naming another is dead-lettered. @default any */
  jobBuckets?: readonly string[];
  /** Send the first heartbeat before a step starts and dead-letter refused tokens. @default true */
  checkTokens?: boolean;
  /** @default a silent logger */
  logger?: Logger;
  /** Cap on each of stdout and stderr kept per attempt. @default 1 MiB */
  logCapBytes?: number;
  /** Visibility timeout of received messages, extended every third of it while a step runs. @default 60 */
  visibilitySeconds?: number;
  /** Long-poll wait of each receive. @default 20 */
  receiveWaitSeconds?: number;
  /** Fixed heartbeat period; by default a third of the step's `heartbeatSeconds` (none if it has none). */
  heartbeatIntervalMs?: number;
  /** How long `stop()` lets running steps finish before handing them back. @default 30000 */
  shutdownGraceMs?: number;
  /**
   * The user the process and function runtimes run steps as (give them the
   * same one): the work folder and each attempt's job folder are opened to
   * its group, and job folders it filled are emptied as that user.
   */
  stepUser?: StepUser;
  /** Keep each attempt's job folder (debugging). @default false */
  keepJobDirs?: boolean;
  /**
   * Upload each attempt's log (the same capped stdout and stderr) to the job
   * files, under the contract's \`logName\` key, so \`ferry logs <execution-arn>\`
   * and \`ferry ui\` read cloud runs' logs. \`ferry run\` keeps its own logs instead.
   * @default false
   */
  uploadLogs?: boolean;
  hooks?: WorkerHooks;
  metrics?: WorkerMetrics;
  /** Backoff of receive and report retries. */
  backoff?: BackoffOptions;
  /** Tokens remembered after completion, to drop late duplicates. @default 10000 */
  recentTokens?: number;
  /** Reads steps' `{ secret: … }` references at run time (values stay in memory). @default none: such steps fail */
  secrets?: SecretResolver;
  /** Answers `cache:` steps from earlier identical runs. @default none: every step runs */
  cache?: StepCache;
  /** Never answer from the cache, only refresh it (`--no-cache`). @default false */
  cacheReadDisabled?: boolean;
  /** Longest wait for another run holding an identical step's cache key. @default the step's timeout */
  cacheWaitMs?: number;
  /** Names this worker in provenance records. @default the hostname, and `ferry-agent/<version>` */
  identity?: { device?: string; agent?: string };
}

export interface StopOptions {
  /** Overrides `shutdownGraceMs` (0 stops running steps at once, e.g. on Ctrl-C). */
  graceMs?: number;
  /** After steps were stopped, how long to keep trying to report `Ferry.AgentShutdown`. @default 10000 */
  handBackTimeoutMs?: number;
}

/**
 * The worker core: receives step messages from one queue and runs them with
 * bounded concurrency. The same class serves SQS + Step Functions on a
 * device and in-memory queues inside `ferry run`.
 */
export class Worker {
  readonly lifecycle: Lifecycle;
  private readonly logger: Logger;
  private readonly manifests: ManifestStore;
  private readonly slots: Slots;
  private readonly running = new Map<string, RunningTask>();
  private readonly recent = new Set<string>();
  private readonly handling = new Set<Promise<void>>();
  private readonly stopReceiving = new AbortController();
  private readonly hardStop = new AbortController();
  private readonly ctx: RunnerContext;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.logger = options.logger ?? SILENT_LOGGER;
    this.lifecycle = new Lifecycle(this.logger.child({ queue: options.queue.name }));
    this.manifests = Array.isArray(options.manifests)
      ? new ManifestStore({ manifests: options.manifests })
      : options.manifests;
    this.slots = options.slots ?? new Slots(options.concurrency ?? 4);
    const workDir = options.workDir ?? join(tmpdir(), "ferry-work");
    this.ctx = {
      queue: options.queue,
      completion: options.completion,
      runtimeFor: (step) => this.runtimeFor(step),
      store: options.jobFiles,
      workDir,
      jobDirs: new JobDirs(
        workDir,
        // Every slot's folder, and those still being emptied after their slot took the next step.
        Math.max(64, 2 * this.slots.capacity),
        options.stepUser ? (dir) => options.stepUser!.reclaim(dir) : undefined,
      ),
      stepUser: options.stepUser,
      logCapBytes: options.logCapBytes ?? DEFAULT_LOG_CAP_BYTES,
      visibilitySeconds: options.visibilitySeconds ?? 60,
      heartbeatIntervalMs: (step) =>
        options.heartbeatIntervalMs ?? heartbeatIntervalMs(step.heartbeatSeconds),
      keepJobDirs: options.keepJobDirs ?? false,
      uploadLogs: options.uploadLogs ?? false,
      hooks: options.hooks ?? {},
      metrics: options.metrics ?? NO_METRICS,
      backoff: options.backoff ?? {},
      hardStop: this.hardStop.signal,
      background: (work) => this.track(work),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.cacheReadDisabled ? { cacheReadDisabled: true } : {}),
      ...(options.cacheWaitMs !== undefined ? { cacheWaitMs: options.cacheWaitMs } : {}),
      identity: {
        device: options.identity?.device ?? hostname(),
        agent: options.identity?.agent ?? `ferry-agent/${AGENT_VERSION}`,
      },
    };
  }

  get state(): WorkerState {
    return this.lifecycle.state;
  }

  /** Steps running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Loads manifests, prepares the work directory and starts receiving. Resolves once RUNNING. */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.manifests.reload();
    // Private to the agent: containers reach their own job folder through its bind only.
    await mkdir(this.ctx.workDir, { recursive: true, mode: 0o700 });
    // Steps of another user only traverse it, to their own folder.
    await this.options.stepUser?.prepareWorkDir(this.ctx.workDir);
    this.lifecycle.to("RUNNING");
    this.loop = this.poll();
  }

  /**
   * Drains: stops receiving, lets running steps finish for the grace period,
   * then stops them and answers `Ferry.AgentShutdown` so that Step Functions
   * retries them elsewhere. Resolves once STOPPED.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopping ??= this.drain(options);
    return this.stopping;
  }

  private async drain(options: StopOptions): Promise<void> {
    this.lifecycle.to("DRAINING");
    this.stopReceiving.abort();
    await this.loop;
    const graceMs = options.graceMs ?? this.options.shutdownGraceMs ?? 30_000;
    if (!(await this.settledWithin(graceMs))) {
      this.logger.warn(
        { running: this.running.size, graceMs },
        "grace period over: handing running steps back",
      );
      for (const task of this.running.values()) task.controller.abort("shutdown");
      await this.settledWithin(options.handBackTimeoutMs ?? 10_000);
    }
    this.hardStop.abort();
    await Promise.allSettled([...this.handling]);
    this.lifecycle.to("STOPPED");
  }

  private async settledWithin(ms: number): Promise<boolean> {
    if (this.handling.size === 0) return true;
    const timer = new AbortController();
    const all = Promise.allSettled([...this.handling]).then(() => true);
    const late = sleep(ms, timer.signal).then(() => false);
    const settled = await Promise.race([all, late]);
    timer.abort();
    return settled;
  }

  private async poll(): Promise<void> {
    const signal = this.stopReceiving.signal;
    const { queue } = this.options;
    const batches = pollQueue(queue, {
      signal,
      waitSeconds: this.options.receiveWaitSeconds ?? 20,
      visibilitySeconds: this.ctx.visibilitySeconds,
      acquire: async (abort) => {
        await this.slots.whenFree(abort);
        return abort.aborted ? 0 : this.slots.tryTake(Math.min(10, this.slots.free));
      },
      release: (count) => this.slots.release(count),
      backoff: this.ctx.backoff,
      logger: this.logger,
    });
    for await (const { messages, receiveSeconds } of batches) {
      this.ctx.metrics.received(messages.length, receiveSeconds);
      for (const message of messages) {
        if (signal.aborted) {
          // Received as the drain began: hand it straight back.
          this.track(queue.changeVisibility(message.receipt, 0).catch(() => undefined));
          this.slots.release(1);
          continue;
        }
        let held = true;
        const freeSlot = () => {
          if (!held) return;
          held = false;
          this.slots.release(1);
        };
        this.track(this.handle(message, freeSlot).finally(freeSlot));
      }
    }
  }

  private track(promise: Promise<void>): void {
    this.handling.add(promise);
    void promise.finally(() => this.handling.delete(promise));
  }

  private async handle(received: QueueMessage, freeSlot: () => void): Promise<void> {
    try {
      const parsed = parseStepMessage(received.body);
      if (!parsed.ok) return await this.deadLetter(received, parsed.reason);
      const message = parsed.message;
      const outOfScope = messageScopeProblem(
        message,
        this.options.jobBuckets ? { jobBuckets: this.options.jobBuckets } : {},
      );
      if (outOfScope) return await this.deadLetter(received, outOfScope);
      const step = await this.manifests.resolveFresh(message.workflow, message.step);
      if (!step) {
        const known = this.manifests.workflows;
        const refused = this.manifests.refusals.map((r) => r.reason);
        return await this.deadLetter(
          received,
          `unknown step "${message.step}" of workflow "${message.workflow}": not in the trusted manifest (workflows known: ${known.join(", ") || "none"})${refused.length > 0 ? `; the last reload refused: ${refused.join("; ")}` : ""}`,
        );
      }
      if (this.options.site !== undefined && step.site !== this.options.site) {
        return await this.deadLetter(
          received,
          `step "${message.step}" is placed on site "${step.site}" but this agent serves site "${this.options.site}"`,
        );
      }
      // An attempt is a token and an attempt number: LocalStack reuses a task's token when Step Functions retries it.
      const attemptKey = `${message.token}#${message.attempt}`;
      const running = this.running.get(attemptKey);
      if (running) {
        running.receipts.push(received.receipt);
        running.logger.info({}, "duplicate delivery of a running task: it will not run twice");
        return;
      }
      if (this.recent.has(attemptKey)) {
        this.logger.info(
          { step: message.step, execution: message.execution },
          "duplicate delivery of an answered task: dropped",
        );
        await this.options.queue.delete(received.receipt);
        return;
      }
      const task: RunningTask = {
        message,
        step,
        receipts: [received.receipt],
        controller: new AbortController(),
        freeSlot,
        logger: this.logger.child({
          execution: message.execution,
          step: message.step,
          attempt: message.attempt,
        }),
      };
      // Registered before the token check: a copy delivered while it runs joins this task instead of running too.
      this.running.set(attemptKey, task);
      let answered = false;
      try {
        // Calls made for this attempt (token check, answers, heartbeats, job files) are attributed to its step.
        answered = await withAwsCallContext({ workflow: message.workflow, step: message.step }, async () => {
          const token = this.options.checkTokens === false ? "live" : await this.checkToken(task, received);
          // A finished task's copies are dropped unasked from now on; refused or unchecked ones are not remembered.
          if (token !== "live") return token === "gone";
          // Handed back unanswered: its redelivery must run, not be dropped as a duplicate.
          return (await runAttempt(task, this.ctx)) !== "local-fault";
        });
      } finally {
        this.running.delete(attemptKey);
        if (answered) this.remember(attemptKey);
      }
    } catch (error) {
      // The worker keeps serving whatever one message did; the message comes back after its visibility timeout.
      this.logger.error(
        { err: error, messageId: received.id },
        `could not handle a message: ${messageOf(error)}`,
      );
    }
  }

  /**
   * Checks the task token before anything of the step runs. A refused
   * token is dead-lettered, a finished task's message dropped, and one that
   * could not be checked handed back; copies delivered meanwhile go with it.
   */
  private async checkToken(task: RunningTask, received: QueueMessage): Promise<TokenCheck["kind"]> {
    const { message, logger } = task;
    const token = await checkToken(this.options.completion, message);
    const { queue } = this.options;
    const copies = () => task.receipts.filter((receipt) => receipt !== received.receipt);
    const quietly = (error: unknown) => logger.warn({ err: error }, "could not settle a copy of the message");
    if (token.kind === "refused") {
      await this.deadLetter(received, token.reason);
      for (const receipt of copies()) await queue.delete(receipt).catch(quietly);
    } else if (token.kind === "gone") {
      logger.info({}, token.reason);
      for (const receipt of task.receipts) await queue.delete(receipt).catch(quietly);
    } else if (token.kind === "unknown") {
      // Step Functions could not be asked: hand the message back rather than run what may not be answerable.
      logger.warn(
        { err: token.error },
        `could not check the task token (${messageOf(token.error)}); handing the message back`,
      );
      this.ctx.metrics.heartbeatFailed();
      for (const receipt of task.receipts)
        await queue.changeVisibility(receipt, TOKEN_RETRY_SECONDS).catch(quietly);
    }
    return token.kind;
  }

  /** Logged and counted only once the move succeeded; a refused move leaves the message to come back. */
  private async deadLetter(received: QueueMessage, reason: string): Promise<void> {
    try {
      await this.options.queue.deadLetter(received, reason);
    } catch (error) {
      this.logger.error(
        { err: error, messageId: received.id, reason },
        `could not move a message to the dead-letter queue (${messageOf(error)}); it returns after its visibility timeout and moves there by the queue's redrive policy`,
      );
      return;
    }
    this.logger.warn({ messageId: received.id, reason }, "message moved to the dead-letter queue");
    this.ctx.metrics.deadLettered();
    this.options.hooks?.onDeadLetter?.(reason, received.body);
  }

  private remember(attemptKey: string): void {
    this.recent.add(attemptKey);
    const max = this.options.recentTokens ?? 10_000;
    if (this.recent.size > max) this.recent.delete(this.recent.values().next().value as string);
  }

  private runtimeFor(step: ManifestStep): Runtime {
    const runtime = this.options.runtimes[step.runtime.kind];
    if (runtime) return runtime;
    const served = Object.keys(this.options.runtimes).join(", ") || "none";
    throw new AgentError(
      "RUNTIME_UNAVAILABLE",
      `step "${step.name}" is a ${step.runtime.kind} step but this worker runs only: ${served}` +
        (step.runtime.kind === "container" ? " — start the agent with --runtime docker or podman" : ""),
      { context: { step: step.name } },
    );
  }
}

/** Creates a worker; call `start()` to begin receiving. */
export function createWorker(options: WorkerOptions): Worker {
  return new Worker(options);
}
