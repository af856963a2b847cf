import { foreachResultsFolder, jobFileKeyFormat } from "../contract/bucket-keys.ts";
import { FOREACH_RESULTS_FIELD } from "../contract/foreach-results.ts";
import { maxRetries } from "../contract/retry-rules.ts";
import { splitSecretEnv } from "../contract/secrets.ts";
import { NON_RETRIABLE_ERRORS } from "../contract/task-failure.ts";
import type { IrStep, ResolvedRetry } from "../ir/ir.ts";
import type { AslMap, AslRetrier, AslState, AslTask } from "./asl-types.ts";
import { keyPath } from "./names.ts";
import { type SubstitutionSlots, slotRef } from "./slots.ts";
import type { StateIndex } from "./state-index.ts";

export const SQS_WAIT_FOR_TASK_TOKEN = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
export const HTTP_INVOKE = "arn:aws:states:::http:invoke";

export interface StepStateContext {
  workflow: string;
  slots: SubstitutionSlots;
  /** JSONPath (in the step's state) of each dependency's output. */
  depPaths: Record<string, string>;
  /** Name of the Map state for a `foreach` step. */
  mapName: string;
  /** Emitted into a child machine (a split workflow), whose execution name is not the root's. */
  inChildMachine?: boolean;
}

/**
 * The states of one step: a Task named exactly after the step, wrapped in a
 * Map when the step fans out with `foreach`. The step's result lands at
 * `$.results['<step>']`.
 */
export function stepStates(
  step: IrStep,
  ctx: StepStateContext,
  next: string | undefined,
): { entry: string; states: Record<string, AslState>; index: StateIndex } {
  const resultPath = keyPath("$.results", step.name);
  const deps = Object.fromEntries(step.depends.map((d) => [`${d}.$`, ctx.depPaths[d]!]));
  if (!step.foreach) {
    const task = {
      ...taskFor(step, ctx, { "input.$": "$.input", deps }),
      ResultPath: resultPath,
      ...link(next),
    };
    return {
      entry: step.name,
      states: { [step.name]: task },
      index: { [step.name]: { kind: "step", step: step.name } },
    };
  }
  if (step.foreach.mode === "distributed")
    return distributedMapStates(step, step.foreach, ctx, deps, resultPath, next);
  const map: AslMap = {
    Type: "Map",
    Comment: `foreach ${step.foreach.items}`,
    ItemsPath: itemsPath(step.foreach.items, ctx.depPaths),
    ItemSelector: mapItemSelector(deps),
    ...(step.foreach.maxConcurrency > 0 ? { MaxConcurrency: step.foreach.maxConcurrency } : {}),
    ItemProcessor: {
      ProcessorConfig: { Mode: "INLINE" },
      StartAt: step.name,
      States: {
        [step.name]: {
          ...mapItemTask(step, ctx),
          End: true,
        },
      },
    },
    ResultPath: resultPath,
    ...link(next),
  };
  return {
    entry: ctx.mapName,
    states: { [ctx.mapName]: map },
    index: {
      [ctx.mapName]: { kind: "foreach", step: step.name },
      [step.name]: { kind: "step", step: step.name },
    },
  };
}

/** The Distributed Map's S3 reader API for each source. */
export const LIST_OBJECTS_V2 = "arn:aws:states:::s3:listObjectsV2";
export const GET_OBJECT = "arn:aws:states:::s3:getObject";
export const PUT_OBJECT = "arn:aws:states:::s3:putObject";

/** The (root) execution name, from `<prefix>` (`<workflow>/<execution>/`; execution names hold no `/`). */
const executionNameOf = (prefix: string) => `States.ArrayGetItem(States.StringSplit(${prefix}, '/'), 1)`;

/**
 * The root execution's name from the context object alone: LocalStack 4.14
 * evaluates ResultWriter parameters against the map's results rather than
 * its input, so `$.ferry` is out of reach there. A child machine of a split
 * workflow gets the state, `ferry` included, as its execution input.
 */
function contextExecutionName(inChildMachine: boolean | undefined): string {
  return inChildMachine ? executionNameOf("$$.Execution.Input.ferry.prefix") : "$$.Execution.Name";
}

/**
 * A `foreach` over job files or records: a Distributed Map. Every item is a
 * child execution of this state machine running the step's Task; items are
 * read from the job bucket (ListObjectsV2 under the prefix, or the records
 * of one object) and results are written back to it under the step's own
 * site (`foreachResultsFolder`), so neither has to fit in the state. The
 * step's result, what dependants receive, is a `ForeachResultsRef` to the
 * ResultWriter's manifest.
 */
function distributedMapStates(
  step: IrStep,
  foreach: Extract<NonNullable<IrStep["foreach"]>, { mode: "distributed" }>,
  ctx: StepStateContext,
  deps: Record<string, string>,
  resultPath: string,
  next: string | undefined,
): { entry: string; states: Record<string, AslState>; index: StateIndex } {
  const bucket = slotRef(ctx.slots.jobBucket);
  const keyOf = (site: string, name: string, execution = executionNameOf("$.ferry.prefix")) =>
    `States.Format('${jobFileKeyFormat(ctx.workflow, site, name)}', ${execution})`;
  const reader = foreach.reader;
  const batch = foreach.batch;
  const task = batch
    ? taskFor(
        step,
        ctx,
        {
          "input.$": "$.BatchInput.input",
          "deps.$": "$.BatchInput.deps",
          item: { "Items.$": "$.Items", "BatchInput.$": "$.BatchInput.batch" },
        },
        "$.BatchInput.ferry",
      )
    : mapItemTask(step, ctx);
  const map: AslMap = {
    Type: "Map",
    Comment:
      reader.kind === "files" ? `foreach file under ${reader.prefix}` : `foreach record of ${reader.file}`,
    ItemReader:
      reader.kind === "files"
        ? {
            Resource: LIST_OBJECTS_V2,
            Parameters: { Bucket: bucket, "Prefix.$": keyOf(foreach.readSite, reader.prefix) },
          }
        : {
            Resource: GET_OBJECT,
            ReaderConfig:
              reader.format === "csv"
                ? { InputType: "CSV", CSVHeaderLocation: "FIRST_ROW" }
                : { InputType: reader.format === "json" ? "JSON" : "JSONL" },
            Parameters: { Bucket: bucket, "Key.$": keyOf(foreach.readSite, reader.file) },
          },
    // Batched, a child's input is { Items, BatchInput }: the shared fields travel in BatchInput.
    ...(batch
      ? {
          ItemBatcher: {
            ...(batch.maxItems !== undefined ? { MaxItemsPerBatch: batch.maxItems } : {}),
            ...(batch.maxBytes !== undefined ? { MaxInputBytesPerBatch: batch.maxBytes } : {}),
            BatchInput: { "ferry.$": "$.ferry", "input.$": "$.input", deps, batch: batch.input },
          },
        }
      : { ItemSelector: mapItemSelector(deps) }),
    ...(foreach.maxConcurrency > 0 ? { MaxConcurrency: foreach.maxConcurrency } : {}),
    ...(foreach.toleratedFailurePercentage > 0
      ? { ToleratedFailurePercentage: foreach.toleratedFailurePercentage }
      : {}),
    Label: mapRunLabel(step.name),
    ItemProcessor: {
      ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
      StartAt: step.name,
      States: { [step.name]: { ...task, End: true } },
    },
    ResultWriter: {
      Resource: PUT_OBJECT,
      Parameters: {
        Bucket: bucket,
        // Step Functions adds `/<map run id>/` itself.
        "Prefix.$": keyOf(
          step.site,
          foreachResultsFolder(step.name).replace(/\/$/, ""),
          contextExecutionName(ctx.inChildMachine),
        ),
      },
    },
    ResultSelector: {
      [FOREACH_RESULTS_FIELD]: {
        "bucket.$": "$.ResultWriterDetails.Bucket",
        "manifest.$": "$.ResultWriterDetails.Key",
      },
    },
    ResultPath: resultPath,
    ...link(next),
  };
  return {
    entry: ctx.mapName,
    states: { [ctx.mapName]: map },
    index: {
      [ctx.mapName]: { kind: "foreach", step: step.name, distributed: true },
      [step.name]: { kind: "step", step: step.name },
    },
  };
}

/**
 * What each item of a map (inline or distributed, unbatched) receives: the
 * execution's fields, the run's input and deps, the item, and its index. The
 * index goes into the item's message, so items of one attempt get their own
 * log and provenance keys, and a failed item's entry in FAILED_<n>.json says
 * which item it was.
 */
function mapItemSelector(deps: Record<string, string>): Record<string, unknown> {
  return {
    "ferry.$": "$.ferry",
    "input.$": "$.input",
    deps,
    "item.$": "$$.Map.Item.Value",
    "index.$": "$$.Map.Item.Index",
  };
}

/** The task of one map item, reading what {@link mapItemSelector} gave it. */
function mapItemTask(step: IrStep, ctx: StepStateContext): AslTask {
  return taskFor(
    step,
    ctx,
    { "input.$": "$.input", "deps.$": "$.deps", "item.$": "$.item" },
    "$.ferry",
    "$.index",
  );
}

/** Map run labels: at most 40 characters of letters, digits, `-` and `_`. */
function mapRunLabel(step: string): string {
  return step.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40);
}

/**
 * `ferry` is where the state holds the execution's `ferry` fields (a batch
 * carries them in its BatchInput); `index`, where a `foreach` item's state
 * holds its `$$.Map.Item.Index` (a batch has none).
 */
export function taskFor(
  step: IrStep,
  ctx: StepStateContext,
  stepInput: Record<string, unknown>,
  ferry = "$.ferry",
  index?: string,
): AslTask {
  const common = {
    TimeoutSeconds: step.timeoutSeconds,
    ...(retriers(step.retry) ? { Retry: retriers(step.retry)! } : {}),
  };
  if (step.runtime.kind === "http" && step.executor === "http-task") {
    const { method, url, body } = step.runtime;
    // Secret headers are sent by the step's EventBridge connection (infra), never written into the definition.
    const headers = splitSecretEnv(step.runtime.headers).plain;
    return {
      Type: "Task",
      Resource: HTTP_INVOKE,
      Parameters: {
        ApiEndpoint: url,
        Method: method,
        Authentication: { ConnectionArn: slotRef(ctx.slots.httpConnections[step.name]!) },
        ...(Object.keys(headers).length ? { Headers: headers } : {}),
        ...(method === "GET" || method === "DELETE"
          ? {}
          : body !== undefined
            ? { RequestBody: body }
            : { RequestBody: stepInput }),
      },
      ResultSelector: { "statusCode.$": "$.StatusCode", "body.$": "$.ResponseBody" },
      ...common,
    };
  }
  return {
    Type: "Task",
    Resource: SQS_WAIT_FOR_TASK_TOKEN,
    Parameters: {
      QueueUrl: slotRef(ctx.slots.queues[step.queue!]!),
      MessageBody: {
        v: 1,
        "token.$": "$$.Task.Token",
        workflow: ctx.workflow,
        "execution.$": `${ferry}.execution`,
        step: step.name,
        "attempt.$": "States.MathAdd($$.State.RetryCount, 1)",
        ...(index !== undefined ? { "index.$": index } : {}),
        "noCache.$": `${ferry}.noCache`,
        input: stepInput,
        jobFiles: { bucket: slotRef(ctx.slots.jobBucket), "prefix.$": `${ferry}.prefix` },
      },
    },
    ...common,
    ...(step.heartbeatSeconds !== undefined ? { HeartbeatSeconds: step.heartbeatSeconds } : {}),
  };
}

/** The step's Retry field: the error table's non-retriable names first, then everything else. */
export function retriers(retry: ResolvedRetry): AslRetrier[] | undefined {
  const retries = maxRetries(retry.maxAttempts);
  if (retries === 0) return undefined;
  return [
    { ErrorEquals: [...NON_RETRIABLE_ERRORS], MaxAttempts: 0 },
    {
      ErrorEquals: ["States.ALL"],
      IntervalSeconds: retry.intervalSeconds,
      MaxAttempts: retries,
      BackoffRate: retry.backoffRate,
      ...(retry.maxDelaySeconds !== undefined ? { MaxDelaySeconds: retry.maxDelaySeconds } : {}),
      ...(retry.jitter !== undefined ? { JitterStrategy: retry.jitter } : {}),
    },
  ];
}

/** `input.files` → `$.input.files`; `deps.extract.items` → the dependency's output path + `.items`. */
export function itemsPath(items: string, depPaths: Record<string, string>): string {
  const [head, ...rest] = items.split(".");
  const base = head === "deps" ? depPaths[rest.shift()!]! : "$.input";
  return rest.reduce((path, key) => keyPath(path, key), base);
}

export function link(next: string | undefined): { Next: string } | { End: true } {
  return next === undefined ? { End: true } : { Next: next };
}
