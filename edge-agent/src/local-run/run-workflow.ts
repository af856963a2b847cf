import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { type CompiledWorkflow, canonicalJson, type StepMessage, sha256 } from "@ferry/dsl-compiler";
import { type HttpTaskParameters, runCompiledWorkflow } from "@ferry/dsl-compiler/interpreter";
import { type NotifyMessageV1, postNotify } from "@ferry/functions/notify";
import type { SecretResolver } from "@ferry/functions/secrets";
import { formatAttemptLog } from "@ferry/functions/worker";
import { type Logger, pino } from "pino";
import type { AttemptFinished } from "../events.ts";
import { CallbackCompletion, type CompletionRecord } from "../in-memory/completions.ts";
import { InMemoryQueue } from "../in-memory/in-memory-queue.ts";
import { LocalJobFileStore } from "../local-job-files.ts";
import { LocalStepCache } from "../local-step-cache.ts";
import { DockerRuntime } from "../runtimes/docker.ts";
import { HttpRuntime } from "../runtimes/http.ts";
import { ProcessRuntime } from "../runtimes/process.ts";
import { AGENT_VERSION, createWorker, type RuntimeSet, type Worker } from "../worker.ts";
import { InProcessFunctionRuntime } from "./in-process-function-runtime.ts";
import { LiveView, type ViewOutput } from "./live-view.ts";
import { localDistributedMapFiles } from "./local-foreach.ts";
import { OutputLog, readOutputLog } from "./output-log.ts";
import { RunEventLog } from "./run-events.ts";
import {
  cacheRoot,
  newRunId,
  type RunRecord,
  type RunStatus,
  runsRoot,
  writeRunRecord,
} from "./run-record.ts";
import { StepTracker } from "./step-tracker.ts";

export interface RunWorkflowOptions {
  /** The spec file, for the record. */
  specFile: string;
  /** Function handler paths and process working directories resolve here; runs are kept in `.ferry/runs`. */
  projectDir: string;
  input: unknown;
  /** Steps running at once on each site. @default the number of CPUs, at least 4 */
  concurrency?: number;
  /** Per-site overrides of `concurrency`. */
  siteConcurrency?: Record<string, number>;
  /** An earlier run (its folder) whose succeeded steps are reused instead of rerun. */
  resumeFrom?: { record: RunRecord; runDir: string };
  /** Aborting cancels the run: running processes and containers are stopped. */
  signal?: AbortSignal;
  /** Where the live view goes; none when absent. */
  view?: ViewOutput;
  logger?: Logger;
  /** Docker Engine socket for container steps. */
  dockerSocket?: string;
  /** Reads steps' `{ secret: … }` references; without one such steps fail, naming the reference. */
  secrets?: SecretResolver;
  /** Run every step even when the cache holds its answer (entries are refreshed). @default false */
  noCache?: boolean;
  /** The step cache's folder. @default `<projectDir>/.ferry/cache` */
  cacheDir?: string;
}

export interface RunResult {
  record: RunRecord;
  runDir: string;
}

/**
 * Runs a compiled workflow on this machine: the very ASL it deploys,
 * executed by aws-local-stepfunctions, with every step dispatched through
 * an in-memory queue to one worker per site — the edge agent's own worker
 * core and runtimes.
 */
export async function runWorkflow(
  compiled: CompiledWorkflow,
  options: RunWorkflowOptions,
): Promise<RunResult> {
  const runId = newRunId();
  const runDir = join(runsRoot(options.projectDir), runId);
  const logger = options.logger ?? pino({ level: "silent" });
  await mkdir(join(runDir, "logs"), { recursive: true });
  if (options.resumeFrom)
    await cp(join(options.resumeFrom.runDir, "files"), join(runDir, "files"), { recursive: true }).catch(
      ignoreMissing,
    );

  const runtimes = await runtimesFor(compiled, options);
  const tracker = new StepTracker(compiled.ir);
  const events = new RunEventLog(runDir, (error) =>
    logger.warn({ err: error }, "could not append to the run's events"),
  );
  tracker.onChange((step) =>
    events.append({ type: "step", at: new Date().toISOString(), step: { ...step } }),
  );
  const startedAt = new Date();
  const record: RunRecord = {
    runId,
    workflow: compiled.ir.name,
    status: "RUNNING",
    startedAt: startedAt.toISOString(),
    input: options.input,
    ...(options.resumeFrom ? { resumedFrom: options.resumeFrom.record.runId } : {}),
    ...(options.noCache ? { noCache: true } : {}),
    specFile: options.specFile,
    pid: process.pid,
    steps: tracker.steps,
  };
  await writeRunRecord(runDir, record);
  const outputs = new OutputLog(runDir);

  // Items of a Distributed Map keep their outputs in its result files: no file per item for --resume, and logs only of failed attempts.
  const mapItemSteps = new Set(
    compiled.ir.steps.filter((s) => s.foreach?.mode === "distributed").map((s) => s.name),
  );
  const pending = new Map<
    string,
    { resolve(output: unknown): void; reject(error: Error): void; message: StepMessage }
  >();
  const completion = new CallbackCompletion({
    onComplete: (answer: CompletionRecord) => {
      const task = pending.get(answer.token);
      if (!task) return;
      pending.delete(answer.token);
      if (answer.kind === "success") {
        // The interpreter shares state values without copying them: it gets its own copy, so a
        // function step that keeps and later changes what it returned cannot change the run's
        // state. Step Functions, too, receives the output as JSON text.
        const json = JSON.stringify(answer.output) ?? "null";
        const output: unknown = JSON.parse(json);
        events.appendValue("output", new Date().toISOString(), task.message.step, output, json);
        if (!mapItemSteps.has(task.message.step))
          void outputs
            .append(outputKey(compiled, task.message), output)
            .catch((error: unknown) =>
              logger.warn({ err: error }, "could not keep a step output for --resume"),
            );
        task.resolve(output);
      } else task.reject(Object.assign(new Error(answer.cause), { name: answer.error }));
    },
  });
  const logCounts = new Map<string, number>();
  const hooks = {
    onAttemptStarted: (a: { step: string; startedAt: Date }) => tracker.attemptStarted(a.step, a.startedAt),
    onAttemptFinished: (a: AttemptFinished) => {
      const keepLog = a.outcome !== "succeeded" || !mapItemSteps.has(a.step);
      const logPath = keepLog ? logPathFor(logCounts, a.step, a.attempt, a) : undefined;
      events.append({
        type: "attempt",
        at: a.finishedAt.toISOString(),
        step: a.step,
        attempt: a.attempt,
        runtime: a.runtime,
        outcome: a.outcome,
        startedAt: a.startedAt.toISOString(),
        finishedAt: a.finishedAt.toISOString(),
        exitCode: a.exitCode,
        ...(a.error ? { error: a.error, cause: a.cause ?? "" } : {}),
        ...(logPath ? { logPath } : {}),
      });
      if (logPath)
        void writeFile(join(runDir, logPath), formatAttemptLog(a)).catch((error: unknown) =>
          logger.warn({ err: error }, "could not write a step log"),
        );
      tracker.attemptFinished(a.step, {
        ok: a.outcome === "succeeded",
        attempt: a.attempt,
        cancelled: a.outcome === "handed-back",
        exitCode: a.exitCode,
        error: a.error,
        cause: a.cause,
        logPath,
        ...(a.cache?.origin ? { cachedFrom: a.cache.origin.execution } : {}),
        at: a.finishedAt,
      });
    },
  };

  const jobFiles = new LocalJobFileStore(join(runDir, "files"));
  const queues = new Map<string, InMemoryQueue>();
  const workers: Worker[] = [];
  const cache = new LocalStepCache({ dir: options.cacheDir ?? cacheRoot(options.projectDir) });
  const defaultConcurrency = options.concurrency ?? Math.max(4, availableParallelism());
  for (const site of Object.keys(compiled.ir.sites)) {
    const queue = new InMemoryQueue({
      name: `site-${site}`,
      onDeadLetter: (letter) => logger.error({ reason: letter.reason }, "step message dead-lettered"),
    });
    queues.set(site, queue);
    workers.push(
      createWorker({
        queue,
        completion,
        manifests: [compiled.manifest],
        runtimes,
        jobFiles,
        workDir: join(runDir, "work"),
        concurrency: options.siteConcurrency?.[site] ?? defaultConcurrency,
        logger: logger.child({ site }),
        // Local tasks are never redelivered while running; a long visibility avoids needless extensions.
        visibilitySeconds: 3600,
        hooks,
        ...(options.secrets ? { secrets: options.secrets } : {}),
        cache,
        ...(options.noCache ? { cacheReadDisabled: true } : {}),
        identity: { agent: `ferry-run/${AGENT_VERSION}` },
      }),
    );
  }
  await Promise.all(workers.map((w) => w.start()));

  const reuse = options.resumeFrom ? await previousOutputs(options.resumeFrom.runDir) : undefined;
  const execution = runCompiledWorkflow(
    compiled,
    options.input,
    {
      runStep: async (message) => {
        // Map items are never kept for --resume, so they need no key (hashing the input is their largest cost).
        if (reuse && !mapItemSteps.has(message.step)) {
          const key = outputKey(compiled, message);
          const previous = await reuse(key);
          if (previous !== undefined) {
            tracker.reused(message.step, new Date());
            await outputs.append(key, previous.value);
            return previous.value;
          }
        }
        events.appendValue("input", new Date().toISOString(), message.step, message.input);
        const site = compiled.manifest.steps[message.step]!.site;
        return new Promise((resolve, reject) => {
          pending.set(message.token, { resolve, reject, message });
          queues.get(site)!.send(JSON.stringify(message));
        });
      },
      runHttpTask: (step, parameters, attempt) =>
        runHttpTask(step, parameters, attempt, { tracker, events, runDir, logCounts }, options.signal),
      // Locally the job bucket slot stays unfilled: messages and result details carry the same placeholder.
      distributedMap: localDistributedMapFiles(jobFiles, `\${${compiled.substitutions.jobBucket}}`),
    },
    { executionName: runId },
  );

  const view = options.view ? new LiveView(compiled.ir.name, tracker, options.view) : undefined;
  view?.start();
  const onAbort = () => execution.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let status: RunStatus;
  try {
    record.output = await execution.result;
    status = "SUCCEEDED";
  } catch (error) {
    status = options.signal?.aborted ? "CANCELLED" : "FAILED";
    if (status === "FAILED") record.error = failureOf(error, tracker);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    // Ctrl-C or the end of the run: stop whatever still runs, at once.
    await Promise.all(workers.map((w) => w.stop({ graceMs: 0, handBackTimeoutMs: 2000 })));
    await Promise.all(Object.values(runtimes).map((r) => r?.close?.()));
    await outputs.close();
  }
  const finishedAt = new Date();
  tracker.finish(status, finishedAt);
  view?.stop();
  delete record.pid;
  Object.assign(record, {
    status,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    steps: tracker.steps,
  });
  // The record first: a reader that sees the "run" event finds run.json final.
  await writeRunRecord(runDir, record);
  events.append({ type: "run", at: finishedAt.toISOString(), status });
  await events.flush();
  if (compiled.ir.notify?.http)
    await notifyLocally(
      compiled.ir.name,
      compiled.ir.notify.http,
      runId,
      record,
      finishedAt,
      options,
      logger,
    );
  return { record, runDir };
}

/**
 * `notify: { http }` in `ferry run`: the run posts the same signed
 * `NotifyMessageV1` the stack's notify function posts in the cloud
 * (execution ARN `local:<workflow>:<run id>`; a cancelled run is ABORTED),
 * trying three times. A callback that cannot be delivered is logged and
 * printed, and never changes the run's status.
 */
async function notifyLocally(
  workflow: string,
  http: { url: string; secretRef: string },
  runId: string,
  record: RunRecord,
  at: Date,
  options: RunWorkflowOptions,
  logger: Logger,
): Promise<void> {
  const message: NotifyMessageV1 = {
    v: 1,
    workflow,
    executionArn: `local:${workflow}:${runId}`,
    status: record.status === "SUCCEEDED" ? "SUCCEEDED" : record.status === "FAILED" ? "FAILED" : "ABORTED",
    output: record.status === "SUCCEEDED" ? JSON.stringify(record.output ?? null) : null,
    error: record.error?.error ?? null,
    cause: record.error?.cause ?? null,
    time: at.toISOString(),
  };
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      if (!options.secrets) throw new Error(`no secret resolver to read ${http.secretRef}`);
      const secret = await options.secrets.resolve(http.secretRef);
      await postNotify({ url: http.url, body: JSON.stringify(message), secret });
      return;
    } catch (error) {
      last = error;
      if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, attempt * 500));
    }
  }
  const why = last instanceof Error ? last.message : String(last);
  logger.warn({ err: last }, `could not deliver the notify callback to ${http.url}`);
  process.stderr.write(`ferry: could not deliver the notify callback to ${http.url}: ${why}\n`);
}

async function runtimesFor(compiled: CompiledWorkflow, options: RunWorkflowOptions): Promise<RuntimeSet> {
  const processRuntime = new ProcessRuntime({ projectDir: options.projectDir });
  if (Object.values(compiled.manifest.steps).some((s) => s.runtime.kind === "process"))
    processRuntime.warmUp();
  const runtimes: RuntimeSet = {
    process: processRuntime,
    function: new InProcessFunctionRuntime(options.projectDir),
    http: new HttpRuntime(),
  };
  if (Object.values(compiled.manifest.steps).some((s) => s.runtime.kind === "container")) {
    const docker = new DockerRuntime({
      ...(options.dockerSocket ? { socketPath: options.dockerSocket } : {}),
      pullPolicy: "missing",
    });
    // Fail before anything runs, with a way to fix it.
    await docker.ping();
    runtimes.container = docker;
  }
  return runtimes;
}

/** Step Functions' HTTP task, done with fetch: non-2xx answers fail as `States.Http.StatusCode.<code>`. */
async function runHttpTask(
  step: string,
  parameters: HttpTaskParameters,
  attempt: number,
  run: { tracker: StepTracker; events: RunEventLog; runDir: string; logCounts: Map<string, number> },
  signal: AbortSignal | undefined,
): Promise<{ StatusCode: number; ResponseBody: unknown }> {
  const { tracker, runDir, logCounts } = run;
  const startedAt = new Date();
  // The page's attempt rows, as the worker's hook records them for other steps.
  const recordAttempt = (outcome: string, failure?: { error: string; cause: string }) => {
    const finishedAt = new Date().toISOString();
    run.events.append({
      type: "attempt",
      at: finishedAt,
      step,
      attempt,
      runtime: "http",
      outcome,
      startedAt: startedAt.toISOString(),
      finishedAt,
      ...(failure ?? {}),
      logPath,
    });
  };
  tracker.attemptStarted(step, startedAt);
  const logPath = logPathFor(logCounts, step, attempt);
  const hasBody =
    parameters.RequestBody !== undefined && parameters.Method !== "GET" && parameters.Method !== "DELETE";
  let log = `# ${step} attempt ${attempt}: ${parameters.Method} ${parameters.ApiEndpoint}\n`;
  try {
    const response = await fetch(parameters.ApiEndpoint, {
      method: parameters.Method,
      headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...(parameters.Headers ?? {}) },
      ...(hasBody ? { body: JSON.stringify(parameters.RequestBody) } : {}),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    log += `status ${response.status}\n${text.slice(0, 64 * 1024)}\n`;
    if (!response.ok)
      throw Object.assign(
        new Error(
          `${parameters.Method} ${parameters.ApiEndpoint} answered ${response.status}: ${text.slice(0, 500)}`,
        ),
        { name: `States.Http.StatusCode.${response.status}` },
      );
    tracker.attemptFinished(step, { ok: true, attempt, logPath, at: new Date() });
    recordAttempt("succeeded");
    return { StatusCode: response.status, ResponseBody: parseMaybeJson(text) };
  } catch (error) {
    const failure = error as Error;
    const name = failure.name.startsWith("States.") ? failure.name : "States.Http.Socket";
    log += `${name}: ${failure.message}\n`;
    tracker.attemptFinished(step, {
      ok: false,
      attempt,
      error: name,
      cause: failure.message,
      logPath,
      at: new Date(),
    });
    recordAttempt("failed", { error: name, cause: failure.message });
    throw Object.assign(new Error(failure.message), { name });
  } finally {
    await writeFile(join(runDir, logPath), log);
  }
}

/**
 * `logs/<step>.attempt-<n>.log`; `logs/<step>.item-<i>.attempt-<n>.log` for a `foreach` item,
 * `logs/<step>.batch-<id>.attempt-<n>.log` for a batch; `-2`, `-3`… tell apart any that still share one.
 */
function logPathFor(
  counts: Map<string, number>,
  step: string,
  attempt: number,
  of: { item?: number; batch?: string } = {},
): string {
  if (of.item !== undefined) step = `${step}.item-${of.item}`;
  else if (of.batch !== undefined) step = `${step}.batch-${of.batch}`;
  const key = `${step}#${attempt}`;
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return join("logs", `${step}.attempt-${attempt}${n > 1 ? `-${n}` : ""}.log`);
}

/** Outputs are kept by step definition and input, so `--resume` reuses exactly what would be recomputed. */
function outputKey(compiled: CompiledWorkflow, message: StepMessage): string {
  const hash = sha256(`${compiled.manifest.steps[message.step]!.hash}\n${canonicalJson(message.input)}`);
  return `${message.step}/${hash.slice(0, 24)}`;
}

/** A lookup of what an earlier run kept: its outputs file, or the folder of one file per output older runs wrote. */
async function previousOutputs(
  runDir: string,
): Promise<(key: string) => Promise<{ value: unknown } | undefined>> {
  const kept = await readOutputLog(runDir);
  if (kept) return async (key) => (kept.has(key) ? { value: kept.get(key) } : undefined);
  return async (key) => {
    try {
      return { value: JSON.parse(await readFile(join(runDir, "outputs", `${key}.json`), "utf8")) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined; // not run, or failed, last time
      throw error;
    }
  };
}

function failureOf(error: unknown, tracker: StepTracker): NonNullable<RunRecord["error"]> {
  // aws-local-stepfunctions wraps the state's error: its cause carries the Step Functions error name and cause.
  const inner = ((error as { cause?: unknown }).cause ?? error) as Error;
  const failed =
    tracker.steps.find((s) => s.status === "FAILED") ?? tracker.steps.find((s) => s.status === "RETRYING");
  return { ...(failed ? { step: failed.name } : {}), error: inner.name || "Error", cause: inner.message };
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: Step Functions passes the body on as a string too.
    return text;
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}

export function relativeToCwd(cwd: string, path: string): string {
  return relative(cwd, path) || ".";
}
