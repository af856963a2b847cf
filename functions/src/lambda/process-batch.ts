import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  attemptKeyParts,
  type CachedFile,
  FERRY_ERRORS,
  outputName,
  parseStepMessage,
  redactSecrets,
  redactSecretsDeep,
  type StepMessage,
  sha256,
  toTaskFailure,
} from "@ferry/dsl-compiler/contract";
import {
  type CacheState,
  type CacheStep,
  consultCache,
  releaseClaim,
  rememberAnswer,
} from "../cache/consult.ts";
import { type AttemptOutcome, writeProvenance } from "../cache/provenance.ts";
import type { StepCache } from "../cache/store.ts";
import { InvalidOutputError, StepTimeoutError } from "../errors.ts";
import { packOutput, resolveInputRefs } from "../job-files/large-output.ts";
import { type JobFileStep, stageInputs, uploadOutputs } from "../job-files/staging.ts";
import type { JobFileIdentity, JobFileStore } from "../job-files/store.ts";
import { resolveSecretMap, type SecretResolver } from "../secrets/resolver.ts";
import { runFunctionStep, type StepHandler, type StepOutput, type StepResult } from "../step-adapter.ts";
import { DEFAULT_LOG_CAP_BYTES, uploadAttemptLog } from "../worker/attempt-log.ts";
import type { Logger } from "../worker/logger.ts";
import { messageScopeProblem } from "../worker/message-scope.ts";
import type { ResolvedLambdaConfig } from "./config.ts";
import { captureConsole } from "./console-capture.ts";
import { startHeartbeat } from "./heartbeat.ts";
import type { LambdaContext, SqsBatchResponse, SqsEvent, SqsRecord } from "./sqs-event.ts";
import { classifyTaskCallError, errorText, type TaskClient } from "./task-client.ts";

export interface BatchDeps {
  /** The user's handler export, as bundled; checked at call time. */
  handler: unknown;
  tasks: TaskClient;
  logger: Logger;
  config: ResolvedLambdaConfig;
  /** Reads the step's secret env variables (`config.secrets`). */
  secrets?: SecretResolver;
  /** Where resolved secrets are set for the handler. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The job bucket (S3 on Lambda); steps with inputs, outputs or large outputs fail without one. */
  jobFiles?: JobFileStore;
  /** Parent of each record's job folder, removed after the record. @default the OS temp folder (`/tmp` on Lambda) */
  workDir?: string;
  /** The step cache (`config.cache`), shared with the edge agents and Fargate workers. */
  cache?: StepCache;
  /** sha256 of the deployed bundle: part of the cache key, so a code change is a miss. */
  codeHash?: string;
  /** Who ran the step, in its provenance records. */
  identity?: { device: string; agent: string };
}

/** What one attempt leaves for its answer and its provenance record. */
interface AttemptRecord {
  input?: StepMessage["input"];
  inputFiles: Record<string, JobFileIdentity>;
  outputFiles: CachedFile[];
  value?: unknown;
  cache: CacheState;
}

/**
 * What became of one SQS record:
 * - `answered`: Step Functions accepted SendTaskSuccess or SendTaskFailure; the message is deleted.
 * - `gone`: the task was already over (timed out, execution stopped); nothing to answer, the message is deleted.
 * - `rejected`: not a valid step message for this function; it returns to the queue and, after the queue's
 *   `maxReceiveCount`, moves to the dead-letter queue (whose alarm fires). No user code ran.
 * - `retry`: the SendTask* call failed transiently; the message returns to the queue and the step runs again.
 */
export type RecordOutcome =
  | { kind: "answered"; status: "succeeded" | "failed" }
  | { kind: "gone"; reason: string }
  | { kind: "rejected"; reason: string }
  | { kind: "retry"; reason: string };

/**
 * Handles one SQS batch for a function step: runs the handler for every record
 * concurrently and lists in `batchItemFailures` the records to receive again
 * (`retry` and `rejected`), so one bad record never replays the others.
 */
export async function processSqsBatch(
  event: SqsEvent,
  context: LambdaContext,
  deps: BatchDeps,
): Promise<SqsBatchResponse> {
  const timeLeftMs = Math.max(0, context.getRemainingTimeInMillis() - deps.config.timeoutMarginMs);
  const outcomes = await Promise.all(event.Records.map((record) => processRecord(record, timeLeftMs, deps)));
  return {
    batchItemFailures: event.Records.flatMap((record, i) => {
      const kind = outcomes[i]!.kind;
      return kind === "retry" || kind === "rejected" ? [{ itemIdentifier: record.messageId }] : [];
    }),
  };
}

export async function processRecord(
  record: SqsRecord,
  timeLeftMs: number,
  deps: BatchDeps,
): Promise<RecordOutcome> {
  const { config, logger } = deps;
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  const parsed = parseStepMessage(record.body);
  const reason = parsed.ok
    ? (mismatch(parsed.message, config) ??
      messageScopeProblem(
        parsed.message,
        config.jobFiles.bucket ? { jobBuckets: [config.jobFiles.bucket] } : {},
      ))
    : parsed.reason;
  if (!parsed.ok || reason) {
    logger.error(
      { messageId: record.messageId, receiveCount, reason },
      "rejected step message; it goes to the dead-letter queue after the queue's maxReceiveCount",
    );
    return { kind: "rejected", reason: reason ?? "invalid step message" };
  }
  const message = parsed.message;
  const fields = {
    messageId: record.messageId,
    execution: message.execution,
    step: message.step,
    attempt: message.attempt,
  };
  const started = Date.now();
  const controller = new AbortController();
  let goneReason: string | undefined;
  const heartbeat =
    config.heartbeatIntervalMs > 0
      ? startHeartbeat({
          intervalMs: config.heartbeatIntervalMs,
          beat: () => deps.tasks.sendTaskHeartbeat(message.token),
          onGone: (why) => {
            goneReason = why;
            controller.abort(new Error(`the task is over: ${why}`));
          },
          onError: (why) => logger.warn({ ...fields, reason: why }, "heartbeat failed; the next one retries"),
        })
      : undefined;
  let secrets: string[] = [];
  let result: StepResult;
  let streams = { stdout: "", stderr: "" };
  const startedAt = new Date();
  const attempt: AttemptRecord = {
    inputFiles: {},
    outputFiles: [],
    cache: { status: "off" },
  };
  try {
    secrets = await provideSecrets(message, deps);
    const captured = await captureConsole(config.logCapBytes ?? DEFAULT_LOG_CAP_BYTES, () =>
      runWithin(timeLeftMs, controller, message, (signal) =>
        runAttempt(message, signal, deps, secrets, attempt, timeLeftMs),
      ),
    );
    result = captured.value;
    streams = captured;
  } catch (error) {
    result = { ok: false, failure: toTaskFailure(error) };
  }

  // A secret the handler echoed into its error or its log never reaches Step Functions or the bucket.
  if (!result.ok && secrets.length > 0) {
    result = {
      ok: false,
      failure: { ...result.failure, cause: redactSecrets(result.failure.cause, secrets) },
    };
  }
  if (secrets.length > 0)
    streams = {
      stdout: redactSecrets(streams.stdout, secrets),
      stderr: redactSecrets(streams.stderr, secrets),
    };
  const uploadLog = (outcome: string) =>
    logAttempt(message, result, streams, outcome, Date.now() - started, deps);
  await heartbeat?.stop();
  if (goneReason) {
    logger.warn(
      { ...fields, reason: goneReason },
      "the task ended while the step ran; its result is dropped",
    );
    await uploadLog("task-gone");
    return { kind: "gone", reason: goneReason };
  }
  const outcome = await answer(message.token, result, deps.tasks);
  const durationMs = Date.now() - started;
  await uploadLog(
    outcome.kind === "answered" ? outcome.status : outcome.kind === "gone" ? "task-gone" : "handed-back",
  );
  if (outcome.kind === "answered") await recordProvenance(message, deps, attempt, result, startedAt);
  if (outcome.kind === "answered") {
    const failure = result.ok ? {} : { error: result.failure.error, cause: result.failure.cause };
    logger.info({ ...fields, durationMs, ...failure }, `step ${outcome.status}`);
  } else if (outcome.kind === "gone") {
    logger.warn(
      { ...fields, durationMs, reason: outcome.reason },
      "the task ended before the answer arrived; its result is dropped",
    );
  } else {
    logger.error(
      { ...fields, durationMs, reason: outcome.reason },
      "could not answer Step Functions; the message returns to the queue",
    );
  }
  return outcome;
}

/**
 * The attempt's log under the contract's key of the step's site, as the edge
 * agent uploads it, so `ferry logs <execution-arn>` and `ferry ui` show
 * function steps too. Without a job bucket or site there is nowhere to put it
 * (CloudWatch still has the console output).
 */
async function logAttempt(
  message: StepMessage,
  result: StepResult,
  streams: { stdout: string; stderr: string },
  outcome: string,
  durationMs: number,
  deps: BatchDeps,
): Promise<void> {
  const site = deps.config.jobFiles.site;
  if (!deps.jobFiles || !site) return;
  await uploadAttemptLog(
    deps.jobFiles,
    { ...message.jobFiles, site },
    {
      ...attemptKeyParts(message),
      runtime: "lambda",
      outcome,
      exitCode: null,
      durationMs,
      ...(result.ok ? {} : { error: result.failure.error, cause: result.failure.cause }),
      ...streams,
    },
    deps.logger,
  );
}

/** Resolves the step's secret env variables into the handler's environment; returns their values. */
async function provideSecrets(message: StepMessage, deps: BatchDeps): Promise<string[]> {
  const refs = deps.config.secrets ?? {};
  if (Object.keys(refs).length === 0) return [];
  const map = Object.fromEntries(Object.entries(refs).map(([name, ref]) => [name, { secret: ref }]));
  const resolved = await resolveSecretMap(map, deps.secrets, `step "${message.step}"`);
  Object.assign(deps.env ?? process.env, resolved.values);
  return resolved.secrets;
}

function mismatch(message: StepMessage, config: ResolvedLambdaConfig): string | undefined {
  if (message.workflow === config.workflow && message.step === config.step) return undefined;
  return `message names step "${message.workflow}/${message.step}" but this function runs "${config.workflow}/${config.step}"`;
}

/**
 * One attempt with the edge agent's job-file contract: output references in
 * the input resolved, inputs staged into a fresh folder under `/tmp` (the
 * handler's `context.jobDir`), declared outputs uploaded under the step's
 * site keys, an output over the payload limit stored as a job file and
 * passed by reference. The folder is removed afterwards: a warm Lambda
 * environment keeps `/tmp`, and nothing may leak into the next record.
 */
async function runAttempt(
  message: StepMessage,
  signal: AbortSignal,
  deps: BatchDeps,
  secrets: string[],
  record: AttemptRecord,
  timeLeftMs: number,
): Promise<StepResult> {
  const { config } = deps;
  const store = deps.jobFiles;
  const site = config.jobFiles.site;
  // Synchronous: two syscalls, and no thread-pool round trip before every handler.
  const jobDir = mkdtempSync(join(deps.workDir ?? tmpdir(), "ferry-job-"));
  try {
    const input = await resolveInputRefs(message.input, store);
    const step: JobFileStep = {
      name: message.step,
      site: site ?? "",
      inputs: Object.keys(config.jobFiles.inputs),
      inputSites: config.jobFiles.inputs,
      outputs: config.jobFiles.outputs,
    };
    record.input = input;
    record.inputFiles = await stageInputs(step, message.jobFiles, jobDir, store);
    const cacheStep = cacheStepOf(config, timeLeftMs);
    const cacheOptions = {
      cache: cacheStep ? deps.cache : undefined,
      readDisabled: message.noCache === true,
      // Half the time left at most: the step must still fit if the holder never writes its entry.
      waitMs: timeLeftMs / 2,
    };
    if (cacheStep) {
      record.cache = await consultCache(cacheOptions, {
        message,
        step: cacheStep,
        input,
        inputFiles: record.inputFiles,
        runs: deps.codeHash ? { codeHash: deps.codeHash } : {},
        jobDir,
        signal,
        logger: deps.logger,
      });
    }
    const hit = record.cache.hit;
    const result: StepResult = hit
      ? { ok: true, output: hit.output as StepOutput }
      : await runFunctionStep(
          deps.handler as StepHandler,
          { ...message, input },
          {
            signal,
            jobDir,
            // Large outputs go by reference below, as on the edge; without a site there is nowhere to put them.
            ...(store && site ? { maxOutputBytes: Number.POSITIVE_INFINITY } : {}),
          },
        );
    if (!result.ok) return result;
    // A secret the handler echoed into its output never reaches Step Functions or the bucket.
    const value =
      secrets.length > 0 ? (redactSecretsDeep(result.output, secrets) as StepOutput) : result.output;
    record.outputFiles = await uploadOutputs(step, message.jobFiles, jobDir, store);
    record.value = value;
    if (cacheStep) {
      await rememberAnswer(cacheOptions, record.cache, {
        message,
        step: cacheStep,
        value,
        files: record.outputFiles,
        jobDir,
        logger: deps.logger,
      });
    }
    if (!site) return { ok: true, output: value };
    const output = await packOutput(value, {
      store,
      ref: { ...message.jobFiles, site },
      name: outputName(message.step, sha256(`${message.token}#${message.attempt}`).slice(0, 16)),
    });
    return { ok: true, output: output as StepOutput };
  } catch (error) {
    return { ok: false, failure: toTaskFailure(error) };
  } finally {
    await releaseClaim(record.cache, deps.logger);
    rmSync(jobDir, { recursive: true, force: true });
  }
}

/** The cache's view of this function's step; undefined when it does not cache. */
function cacheStepOf(config: ResolvedLambdaConfig, timeLeftMs: number): CacheStep | undefined {
  const { cache, jobFiles } = config;
  if (!cache || !jobFiles.site) return undefined;
  return {
    name: config.step,
    site: jobFiles.site,
    kind: "function",
    cache: {
      enabled: true,
      ...(cache.ttlSeconds !== undefined ? { ttlSeconds: cache.ttlSeconds } : {}),
      ...(cache.key ? { key: cache.key } : {}),
    },
    // A claim is held as long as this invocation may run the step.
    timeoutSeconds: Math.max(1, Math.ceil(timeLeftMs / 1000)),
    definitionHash: cache.definitionHash,
  };
}

/**
 * The attempt's provenance record, in the agent's format and at the same
 * key, once Step Functions accepted the answer: written by whoever ran
 * the step. Without a site (no job files) there is nowhere to write it.
 */
async function recordProvenance(
  message: StepMessage,
  deps: BatchDeps,
  record: AttemptRecord,
  result: StepResult,
  startedAt: Date,
): Promise<void> {
  const site = deps.config.jobFiles.site;
  if (!deps.jobFiles || !site) return;
  const outcome: AttemptOutcome = result.ok
    ? "succeeded"
    : result.failure.error === FERRY_ERRORS.timeout
      ? "timed-out"
      : "failed";
  await writeProvenance(
    deps.jobFiles,
    {
      message,
      step: { name: deps.config.step, site, hash: deps.config.definitionHash ?? "" },
      runtime: "lambda",
      runs: deps.codeHash ? { codeHash: deps.codeHash } : {},
      input: record.input ?? message.input,
      inputFiles: record.inputFiles,
      outputFiles: result.ok ? record.outputFiles : [],
      ...(result.ok ? { output: record.value } : {}),
      cache: record.cache,
      outcome,
      exitCode: null,
      ...(result.ok ? {} : { error: result.failure.error }),
      startedAt,
      finishedAt: new Date(),
    },
    deps.identity ?? {
      device: `lambda:${deps.config.workflow}/${deps.config.step}`,
      agent: "ferry-functions",
    },
    deps.logger,
  );
}

/** Runs the attempt, or reports `Ferry.Timeout` if it has not settled when the function's time is nearly up. */
async function runWithin(
  timeLeftMs: number,
  controller: AbortController,
  message: StepMessage,
  attempt: (signal: AbortSignal) => Promise<StepResult>,
): Promise<StepResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<StepResult>((resolve) => {
    timer = setTimeout(() => {
      const error = new StepTimeoutError(
        `step "${message.step}" was still running ${timeLeftMs} ms into the Lambda invocation, at the function's time limit; lower the work per step or run the step on Fargate or an edge site`,
      );
      controller.abort(error);
      resolve({ ok: false, failure: toTaskFailure(error) });
    }, timeLeftMs);
  });
  try {
    return await Promise.race([attempt(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function answer(token: string, result: StepResult, tasks: TaskClient): Promise<RecordOutcome> {
  try {
    if (result.ok) await tasks.sendTaskSuccess(token, JSON.stringify(result.output));
    else await tasks.sendTaskFailure(token, result.failure);
    return { kind: "answered", status: result.ok ? "succeeded" : "failed" };
  } catch (error) {
    const kind = classifyTaskCallError(error);
    if (kind === "gone") return { kind: "gone", reason: errorText(error) };
    if (kind === "invalid-output" && result.ok) {
      const refused = new InvalidOutputError(
        `Step Functions refused the step's output: ${errorText(error)}`,
        { cause: error },
      );
      return answer(token, { ok: false, failure: toTaskFailure(refused) }, tasks);
    }
    return { kind: "retry", reason: errorText(error) };
  }
}
