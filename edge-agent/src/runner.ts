import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  attemptKeyParts,
  type CachedFile,
  type ManifestStep,
  outputName,
  redactSecrets,
  redactSecretsDeep,
  type StepMessage,
  sha256,
  type TaskFailure,
  toTaskFailure,
} from "@ferry/dsl-compiler/contract";
import {
  type AttemptFacts,
  type CacheState,
  type CacheStep,
  cacheStepOf,
  consultCache,
  releaseClaim,
  rememberAnswer,
  type StepCache,
  writeProvenance,
} from "@ferry/functions/cache";
import {
  type JobFileIdentity,
  type JobFileStore,
  packOutput,
  resolveInputRefs,
  stageInputs,
  uploadOutputs,
} from "@ferry/functions/job-files";
import { resolveSecretMap, type SecretResolver } from "@ferry/functions/secrets";
import {
  type BackoffOptions,
  backoffDelayMs,
  type Logger,
  Pulse,
  type Queue,
  sleep,
  uploadAttemptLog,
} from "@ferry/functions/worker";
import { AgentError, isAgentError, messageOf } from "./errors.ts";
import type { AttemptFinished, AttemptOutcome, WorkerHooks, WorkerMetrics } from "./events.ts";
import type { JobDirs } from "./job-dirs.ts";
import { INPUT_FILE } from "./job-paths.ts";
import { localFaultOf } from "./local-faults.ts";
import { readStepError, readStepOutput } from "./output.ts";
import type { Completion } from "./ports/completion.ts";
import type { RunIdentity, Runtime, RuntimeResult } from "./runtimes/runtime.ts";
import { cachedResult, identifyRun } from "./step-caching.ts";
import type { StepUser } from "./step-user.ts";

/** Why a running step was stopped before it finished. */
export type StopReason = "timeout" | "task-gone" | "shutdown";

/** One step attempt in progress on this worker. */
export interface RunningTask {
  message: StepMessage;
  step: ManifestStep;
  /** Receipts of every delivery of this token (duplicates included); all are deleted at the end. */
  receipts: string[];
  /** Aborted with a {@link StopReason} to stop the step. */
  controller: AbortController;
  logger: Logger;
  /**
   * Frees the attempt's slot before its answer is sent, so the next receive
   * is in flight while Step Functions takes the answer. Called at most once
   * that matters; the worker frees the slot at the end otherwise.
   */
  freeSlot?: () => void;
}

/** What {@link runAttempt} needs from its worker. */
export interface RunnerContext {
  queue: Queue;
  completion: Completion;
  /** The runtime for a step, or an error saying why this worker cannot run it. */
  runtimeFor(step: ManifestStep): Runtime;
  store: JobFileStore | undefined;
  workDir: string;
  logCapBytes: number;
  visibilitySeconds: number;
  /** Attempt job folders under the work directory. */
  jobDirs: JobDirs;
  /** Who process and function steps run as, when not the agent's user. */
  stepUser?: StepUser | undefined;
  /** Heartbeat period for a step; `undefined` sends none. */
  heartbeatIntervalMs(step: ManifestStep): number | undefined;
  keepJobDirs: boolean;
  uploadLogs: boolean;
  hooks: WorkerHooks;
  metrics: WorkerMetrics;
  backoff: BackoffOptions;
  /** Aborted when the worker gives up on reporting (hard stop). */
  hardStop: AbortSignal;
  /** Local staging faults in a row, for the hand-back backoff. */
  localFaults?: number;
  /** Reads the step's `{ secret: … }` env values and headers; without one such a step fails, naming the reference. */
  secrets?: SecretResolver;
  /** Answers `cache:` steps from earlier identical runs; none: every step runs. */
  cache?: StepCache;
  /** `--no-cache`: run every step (entries are still written). */
  cacheReadDisabled?: boolean;
  /** Longest wait for another run holding the same cache key. @default the step's timeout */
  cacheWaitMs?: number;
  /** Who ran the step, for provenance. */
  identity: { device: string; agent: string };
  /** Work that may finish after the attempt (its slot is free meanwhile) but before the worker stops. */
  background?: (work: Promise<void>) => void;
}

const STDERR_TAIL_BYTES = 2048;

/**
 * Runs one attempt end to end: stage job files, run with a timeout while
 * heartbeating and extending visibility, read the output, report, and delete
 * the message only once the answer was accepted.
 */
export async function runAttempt(task: RunningTask, ctx: RunnerContext): Promise<AttemptOutcome> {
  const { message, step, controller, logger } = task;
  const startedAt = new Date();
  let runtimeName = step.runtime.kind as string;
  let result: RuntimeResult | undefined;
  let thrown: unknown;
  let jobDir: string | undefined;
  let staged = false;
  /** Values of the secrets the step was given: replaced by *** in its logs, output and failure cause. */
  let secrets: string[] = [];
  let input: StepMessage["input"] | undefined;
  let inputFiles: Record<string, JobFileIdentity> = {};
  let runs: RunIdentity = {};
  let cache: CacheState = { status: "off" };
  let outputFiles: CachedFile[] = [];
  let value: unknown;

  const visibility = new Pulse({
    intervalMs: (ctx.visibilitySeconds * 1000) / 3,
    send: async () => {
      for (const receipt of task.receipts) await ctx.queue.changeVisibility(receipt, ctx.visibilitySeconds);
    },
    onError: (error) => logger.warn({ err: error }, "could not extend message visibility"),
  }).start();
  const heartbeat = new Pulse({
    intervalMs: ctx.heartbeatIntervalMs(step) ?? 0,
    send: () => ctx.completion.heartbeat(message.token),
    onError: (error) => {
      if (isAgentError(error, "TASK_GONE")) {
        logger.warn({ err: error }, "Step Functions no longer accepts this task token: stopping the step");
        controller.abort("task-gone" satisfies StopReason);
      } else {
        ctx.metrics.heartbeatFailed();
        logger.warn({ err: error }, "heartbeat failed; will retry at the next beat");
      }
    },
  }).start();
  const timeout = longTimeout(
    () => controller.abort("timeout" satisfies StopReason),
    step.timeoutSeconds * 1000,
  );

  let runtime: Runtime | undefined;
  try {
    runtime = ctx.runtimeFor(step);
    runtimeName = runtime.name;
  } catch (error) {
    thrown = error;
  }
  // Made once per attempt: a batch's key part hashes its items.
  const attemptInfo = info(message, runtimeName);
  ctx.hooks.onAttemptStarted?.({ ...attemptInfo, startedAt });
  ctx.metrics.attemptStarted();
  try {
    if (!runtime) throw thrown;
    const resolved = await withSecrets(step, ctx.secrets);
    secrets = resolved.secrets;
    jobDir = ctx.jobDirs.acquire(step.name);
    input = await resolveInputRefs(message.input, ctx.store, jobDir);
    // Written once, and only for a runtime that reads it: a function step gets the value itself.
    let inputJson: string | undefined;
    const inputText = (value: StepMessage["input"]) => (inputJson ??= JSON.stringify(value));
    // Off the event loop: creating a file can stall for milliseconds on a busy disk, and a blocked
    // loop delays every other step's start and end.
    if (!runtime.writesInputFile && !runtime.takesInputAsArgument)
      await writeFile(join(jobDir, INPUT_FILE), inputText(input));
    inputFiles = await stageInputs(step, message.jobFiles, jobDir, ctx.store);
    staged = true;
    ctx.localFaults = 0;
    runs = await identifyRun(runtime, step, logger);
    cache = await consultCache(cacheOptions(ctx, step, message), {
      message,
      step: cacheStepFor(step),
      input,
      inputFiles,
      runs,
      jobDir,
      signal: controller.signal,
      logger,
    });
    // A step running as its own user gets the folder's group; the agent keeps owning what it staged.
    await ctx.stepUser?.handOver(jobDir);
    if (cache.hit) result = cachedResult(cache.hit);
    else if (!controller.signal.aborted) {
      const runInput = input;
      result = await runtime.run({
        step: resolved.step,
        input,
        get inputJson() {
          return inputText(runInput);
        },
        jobFiles: message.jobFiles,
        jobDir,
        env: {
          FERRY_WORKFLOW: message.workflow,
          FERRY_EXECUTION: message.execution,
          FERRY_STEP: message.step,
          FERRY_ATTEMPT: String(message.attempt),
        },
        signal: controller.signal,
        logCapBytes: ctx.logCapBytes,
      });
    }
  } catch (error) {
    thrown = error;
  } finally {
    timeout.clear();
  }
  if (result && secrets.length > 0) result = redactResult(result, secrets);

  const fault = staged ? undefined : localFaultOf(thrown);
  if (fault && !controller.signal.aborted) {
    await releaseClaim(cache, logger);
    return handBackLocalFault(ctx, task, jobDir, fault, thrown, { heartbeat, visibility });
  }

  let outcome: AttemptOutcome;
  let failure: TaskFailure | undefined;
  let output: unknown;
  const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
  if (reason === "task-gone") {
    outcome = "task-gone";
  } else if (reason === "shutdown") {
    outcome = "handed-back";
    failure = toTaskFailure(
      new AgentError(
        "AGENT_SHUTDOWN",
        `the agent running step "${step.name}" shut down before it finished; another agent may retry it`,
      ),
    );
  } else if (reason === "timeout") {
    outcome = "timed-out";
    failure = toTaskFailure(
      new AgentError(
        "TIMEOUT",
        `step "${step.name}" did not finish within timeoutSeconds=${step.timeoutSeconds} and was stopped`,
      ),
    );
  } else {
    try {
      if (thrown !== undefined) throw thrown;
      failure = await failureOf(result!, step, jobDir!);
      if (!failure) {
        value = redactSecretsDeep(
          result!.output ? result!.output.value : await readStepOutput(jobDir!, result!.lastStdoutLine),
          secrets,
        );
        outputFiles = await uploadOutputs(step, message.jobFiles, jobDir!, ctx.store);
        // What the runtime ran, after it ran (a container's image is known once pulled).
        if (cache.status === "off" && step.cache.enabled) {
          runs = await identifyRun(runtime!, step, logger);
          cache = await consultCache(
            { ...cacheOptions(ctx, step, message), readDisabled: true },
            {
              message,
              step: cacheStepFor(step),
              input: input!,
              inputFiles,
              runs,
              jobDir: jobDir!,
              signal: controller.signal,
              logger,
            },
          );
        }
        await rememberAnswer(cacheOptions(ctx, step, message), cache, {
          message,
          step: cacheStepFor(step),
          value,
          files: outputFiles,
          jobDir: jobDir!,
          logger,
        });
        output = await packOutput(value, {
          store: ctx.store,
          ref: { ...message.jobFiles, site: step.site },
          name: outputName(step.name, sha256(`${message.token}#${message.attempt}`).slice(0, 16)),
        });
      }
    } catch (error) {
      failure = toTaskFailure(error);
      logger.warn(
        { reason: redactSecrets(failure.cause, secrets) },
        "step failed before it could run or report its output",
      );
    }
    outcome = failure ? "failed" : "succeeded";
  }
  if (failure && secrets.length > 0) failure = { ...failure, cause: redactSecrets(failure.cause, secrets) };
  await releaseClaim(cache, logger);

  await Promise.all([heartbeat.stop(), visibility.stop()]);
  // Nothing of the step runs any more: its slot may take the next message while the answer goes out.
  task.freeSlot?.();
  if (outcome !== "task-gone") {
    const accepted = await report(ctx, task, failure, output);
    if (accepted === "gone") outcome = "task-gone";
    if (accepted === "abandoned") {
      await finish(ctx, task, jobDir, false);
      return outcome;
    }
  }
  // The answer is in: the message's deletes (batched by the queue) need not hold the slot.
  const deleted = Promise.all(
    task.receipts.map((receipt) =>
      ctx.queue
        .delete(receipt)
        .catch((error: unknown) => logger.warn({ err: error }, "could not delete the message")),
    ),
  ).then(() => undefined);
  if (ctx.background) ctx.background(deleted);
  else await deleted;

  const finishedAt = new Date();
  const facts: AttemptFacts = {
    message,
    step,
    runtime: runtimeName,
    runs,
    input: input ?? message.input,
    inputFiles,
    outputFiles,
    ...(outcome === "succeeded" ? { output: value } : {}),
    cache,
    outcome,
    exitCode: result?.exitCode ?? null,
    ...(failure ? { error: failure.error } : {}),
    startedAt,
    finishedAt,
  };
  const finished: AttemptFinished = {
    ...attemptInfo,
    outcome,
    cache: {
      status: cache.status,
      ...(cache.key ? { key: cache.key } : {}),
      ...(cache.hit ? { origin: cache.hit.origin } : {}),
    },
    ...(outcome === "succeeded" ? { output } : {}),
    ...(failure ? { error: failure.error, cause: failure.cause } : {}),
    exitCode: result?.exitCode ?? null,
    stdout: result?.stdout ?? "",
    stderr: result?.stderr ?? "",
    startedAt,
    finishedAt,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  };
  logger.info(
    { outcome, durationMs: finished.durationMs, exitCode: finished.exitCode, error: failure?.error },
    `step attempt ${outcome}`,
  );
  ctx.metrics.attemptFinished(outcome, finished.durationMs / 1000);
  ctx.hooks.onAttemptFinished?.(finished);
  // The log upload and the provenance record go to the job files after the answer; neither holds the slot.
  const records = (async () => {
    if (ctx.uploadLogs && ctx.store)
      await uploadAttemptLog(ctx.store, { ...message.jobFiles, site: step.site }, finished, logger);
    await writeProvenance(ctx.store, facts, ctx.identity, logger);
  })();
  if (ctx.background) ctx.background(records);
  else await records;
  // Emptying a succeeded attempt's folder for reuse need not hold the slot: the next step may start meanwhile.
  const cleanup = finish(ctx, task, jobDir, outcome === "succeeded");
  if (ctx.background && outcome === "succeeded") ctx.background(cleanup);
  else await cleanup;
  return outcome;
}

/** Each manifest step's cache view, made once: its definition hash hashes the whole step. */
const cacheSteps = new WeakMap<ManifestStep, CacheStep>();

function cacheStepFor(step: ManifestStep): CacheStep {
  let cacheStep = cacheSteps.get(step);
  if (!cacheStep) {
    cacheStep = cacheStepOf(step);
    cacheSteps.set(step, cacheStep);
  }
  return cacheStep;
}

/** `--no-cache` comes from the worker (`ferry run`) or from the execution (`ferry start`, in the message). */
function cacheOptions(ctx: RunnerContext, step: ManifestStep, message: StepMessage) {
  return {
    cache: ctx.cache,
    readDisabled: (ctx.cacheReadDisabled ?? false) || message.noCache === true,
    waitMs: ctx.cacheWaitMs ?? step.timeoutSeconds * 1000,
  };
}

/** The step with its secret references replaced by their values, and those values. */
async function withSecrets(
  step: ManifestStep,
  resolver: SecretResolver | undefined,
): Promise<{ step: ManifestStep; secrets: string[] }> {
  const runtime = step.runtime;
  const what = `step "${step.name}"`;
  if (runtime.kind === "http") {
    const headers = await resolveSecretMap(runtime.headers, resolver, what);
    if (headers.secrets.length === 0) return { step, secrets: [] };
    return { step: { ...step, runtime: { ...runtime, headers: headers.values } }, secrets: headers.secrets };
  }
  const env = await resolveSecretMap(runtime.env, resolver, what);
  if (env.secrets.length === 0) return { step, secrets: [] };
  return { step: { ...step, runtime: { ...runtime, env: env.values } }, secrets: env.secrets };
}

/** A runtime result with every secret value in its logs, output and failure replaced by `***`. */
function redactResult(result: RuntimeResult, secrets: string[]): RuntimeResult {
  return {
    ...result,
    stdout: redactSecrets(result.stdout, secrets),
    stderr: redactSecrets(result.stderr, secrets),
    ...(result.lastStdoutLine !== undefined
      ? { lastStdoutLine: redactJsonLine(result.lastStdoutLine, secrets) }
      : {}),
    ...(result.output ? { output: { value: redactSecretsDeep(result.output.value, secrets) } } : {}),
    ...(result.failure
      ? { failure: { ...result.failure, cause: redactSecrets(result.failure.cause, secrets) } }
      : {}),
  };
}

/** The output line redacted inside its JSON strings when it parses, so the output stays valid JSON. */
function redactJsonLine(line: string, secrets: string[]): string {
  try {
    return JSON.stringify(redactSecretsDeep(JSON.parse(line), secrets));
  } catch {
    return redactSecrets(line, secrets);
  }
}

/**
 * The device could not stage the step (disk full, permissions, I/O error):
 * nothing is reported to Step Functions, the message comes back after a
 * backoff, and the step keeps all its attempts.
 */
async function handBackLocalFault(
  ctx: RunnerContext,
  task: RunningTask,
  jobDir: string | undefined,
  code: string,
  error: unknown,
  pulses: { heartbeat: Pulse; visibility: Pulse },
): Promise<AttemptOutcome> {
  await Promise.all([pulses.heartbeat.stop(), pulses.visibility.stop()]);
  ctx.localFaults = (ctx.localFaults ?? 0) + 1;
  const delaySeconds = Math.max(1, Math.round(backoffDelayMs(ctx.localFaults, ctx.backoff) / 1000));
  task.logger.warn(
    { err: error, code, delaySeconds },
    `local ${code} while staging step "${task.step.name}" (${messageOf(error)}); handing the message back, the step is not charged`,
  );
  for (const receipt of task.receipts)
    await ctx.queue
      .changeVisibility(receipt, delaySeconds)
      .catch((e: unknown) => task.logger.warn({ err: e }, "could not hand the message back"));
  ctx.metrics.attemptFinished("local-fault", 0);
  await finish(ctx, task, jobDir, false);
  return "local-fault";
}

async function failureOf(
  result: RuntimeResult,
  step: ManifestStep,
  jobDir: string,
): Promise<TaskFailure | undefined> {
  if (result.failure) return result.failure;
  if (result.exitCode === 0) return undefined;
  const named = await readStepError(jobDir);
  if (named) return named;
  const how = result.exitCode === null ? "was killed by a signal" : `exited with code ${result.exitCode}`;
  const tail =
    result.stderr.length > STDERR_TAIL_BYTES ? `…${result.stderr.slice(-STDERR_TAIL_BYTES)}` : result.stderr;
  return toTaskFailure(
    new AgentError(
      "EXIT_CODE",
      `step "${step.name}" ${how}${tail.trim() ? `; stderr ends with:\n${tail.trimEnd()}` : ""}`,
    ),
  );
}

/**
 * Sends the answer, retrying transient errors with backoff until it is
 * accepted, the token is gone, or the worker hard-stops (the message then
 * becomes visible again and the step is retried from the queue).
 */
async function report(
  ctx: RunnerContext,
  task: RunningTask,
  failure: TaskFailure | undefined,
  output: unknown,
): Promise<"accepted" | "gone" | "abandoned"> {
  for (let failures = 0; ; failures++) {
    try {
      if (failure) await ctx.completion.failure(task.message.token, failure.error, failure.cause);
      else await ctx.completion.success(task.message.token, output);
      return "accepted";
    } catch (error) {
      if (isAgentError(error, "TASK_GONE")) {
        task.logger.warn(
          { err: error },
          "Step Functions refused the answer: the task timed out or was answered elsewhere",
        );
        return "gone";
      }
      if (ctx.hardStop.aborted) {
        task.logger.error(
          { err: error },
          "gave up reporting at shutdown; the message will be delivered again",
        );
        return "abandoned";
      }
      const delayMs = backoffDelayMs(failures, ctx.backoff);
      task.logger.warn(
        { err: error, delayMs },
        `could not report the answer (${messageOf(error)}); retrying`,
      );
      await sleep(delayMs, ctx.hardStop);
    }
  }
}

/** Only a folder whose attempt succeeded is emptied for reuse; after any failure nothing of it may reach the next attempt. */
async function finish(
  ctx: RunnerContext,
  task: RunningTask,
  jobDir: string | undefined,
  reusable: boolean,
): Promise<void> {
  if (!jobDir || ctx.keepJobDirs) return;
  try {
    if (reusable) await ctx.jobDirs.release(jobDir);
    else await ctx.jobDirs.discard(jobDir);
  } catch (error) {
    task.logger.warn({ err: error, jobDir }, "could not remove the attempt's job folder");
  }
}

/** Node timers overflow past 2^31-1 ms (~24.8 days); step timeouts may be up to a year. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function longTimeout(fire: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(
      () => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : fire()),
      Math.min(left, MAX_TIMER_MS),
    );
    timer.unref?.();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

function info(message: StepMessage, runtime: string) {
  return {
    workflow: message.workflow,
    execution: message.execution,
    ...attemptKeyParts(message),
    token: message.token,
    runtime,
  };
}
