import type { ForeachResultEntry } from "../contract/foreach-results.ts";

/** Where one map run's results go: entries are written as items finish, never held. */
export interface MapRunSink {
  write(entry: ForeachResultEntry): Promise<void>;
  /** Writes the manifest after the last entry; answers what Step Functions' ResultWriter answers. */
  close(): Promise<{ Bucket: string; Key: string }>;
}

export interface MapRunOptions {
  /** Read lazily: the next item is pulled only when a slot is free. */
  items: AsyncIterable<unknown>;
  /** Items in flight at once; 0 means {@link DEFAULT_LOCAL_MAP_CONCURRENCY}. */
  maxConcurrency: number;
  /** The run fails when more than this percentage of the items fail. */
  toleratedFailurePercentage: number;
  /**
   * Children run on batches of items, as an ItemBatcher makes them: a batch
   * closes at `maxItems` items, or before the item that would take its JSON
   * (`{ Items, BatchInput }`) past `maxBytes`. Absent: one child per item.
   */
  batch?: { maxItems?: number; maxBytes?: number; batchInput: unknown };
  /** The child execution's input for one item (or, batched, one `{ Items, BatchInput }`). */
  childInput(item: unknown, index: number): Record<string, unknown>;
  /**
   * The JSON of `input` (made by `childInput` for this item), as its result
   * entry records it; a caller that knows which fields every item shares can
   * reuse their text. @default JSON.stringify
   */
  childInputJson?(input: Record<string, unknown>, item: unknown, index: number): string;
  /** Runs one child execution; rejects with the child's error (`name`) and cause (`message`). */
  runItem(input: Record<string, unknown>, index: number): Promise<unknown>;
  sink: MapRunSink;
  /** The local map run's id, as the last part of a MapRunArn. */
  mapRunArn: string;
  /** Stops pulling items once aborted. */
  isAborted?: () => boolean;
}

export interface MapRunSummary {
  MapRunArn: string;
  ResultWriterDetails: { Bucket: string; Key: string };
  /** Items read (not batches). */
  itemCount: number;
  /** Items failed: every item of a failed batch counts, as Step Functions counts them. */
  failedCount: number;
  /** Indexes of the failed children (items, or batches when batched), for the error message (the first few). */
  failedIndexes: number[];
}

/** The error Step Functions raises when a map run's failures pass `ToleratedFailurePercentage`. */
export const EXCEED_TOLERATED_FAILURE = "States.ExceedToleratedFailureThreshold";

/**
 * Without MaxConcurrency Step Functions runs up to 10,000 children; locally
 * the site's workers bound the real work, and this bounds the items waiting
 * for them (and so memory).
 */
export const DEFAULT_LOCAL_MAP_CONCURRENCY = 256;

const INDEXES_REPORTED = 20;

/**
 * A Distributed Map run without Step Functions: pulls items one at a time
 * as slots free up, runs each as a child, streams every result to the sink
 * as it completes and keeps only counters, so memory does not grow with the
 * number of items. Like Step Functions, it fails with
 * `States.ExceedToleratedFailureThreshold` when more than
 * `toleratedFailurePercentage` of the items failed — at once on the first
 * failure when nothing is tolerated, else once the item count is known (at
 * the end, as the reader is lazy). Results and manifest are written either way.
 */
export async function runMapRun(options: MapRunOptions): Promise<MapRunSummary> {
  const limit = options.maxConcurrency > 0 ? options.maxConcurrency : DEFAULT_LOCAL_MAP_CONCURRENCY;
  const counted = { items: 0 };
  const iterator = (options.batch ? batches(options.items, options.batch, counted) : options.items)[
    Symbol.asyncIterator
  ]();
  let index = 0;
  let failedCount = 0;
  let failedChildren = 0;
  const failedIndexes: number[] = [];
  let stop = false;
  let readError: unknown;
  // Serialised: several items finishing at once append to one file.
  let writing: Promise<void> = Promise.resolve();
  const write = (entry: ForeachResultEntry) => {
    writing = writing.then(() => options.sink.write(entry));
    return writing;
  };

  const lane = async (): Promise<void> => {
    while (!stop && !options.isAborted?.()) {
      let next: IteratorResult<unknown>;
      try {
        next = await iterator.next();
      } catch (error) {
        readError ??= error;
        stop = true;
        return;
      }
      if (next.done) return;
      const i = index++;
      const input = options.childInput(next.value, i);
      const inputJson = () => options.childInputJson?.(input, next.value, i) ?? JSON.stringify(input);
      const name = String(i);
      try {
        const output = await options.runItem(input, i);
        await write({
          Name: name,
          Status: "SUCCEEDED",
          Input: inputJson(),
          Output: JSON.stringify(output ?? null),
        });
      } catch (error) {
        const failure = error as Error;
        failedCount += options.batch ? (next.value as { Items: unknown[] }).Items.length : 1;
        failedChildren++;
        if (failedIndexes.length < INDEXES_REPORTED) failedIndexes.push(i);
        await write({
          Name: name,
          Status: "FAILED",
          Input: inputJson(),
          Error: failure.name || "Error",
          Cause: failure.message,
        });
        if (options.toleratedFailurePercentage <= 0) stop = true;
      }
    }
  };
  // One lane per slot: each pulls its next item only when its last one ended.
  await Promise.all(Array.from({ length: limit }, lane));
  await writing;
  const details = await options.sink.close();
  if (readError !== undefined) throw readError;
  const itemCount = options.batch ? counted.items : index;
  const summary = {
    MapRunArn: options.mapRunArn,
    ResultWriterDetails: details,
    itemCount,
    failedCount,
    failedIndexes,
  };
  if (failedCount > 0 && (failedCount / itemCount) * 100 > options.toleratedFailurePercentage) {
    const shown = failedIndexes.join(", ") + (failedChildren > failedIndexes.length ? ", …" : "");
    throw Object.assign(
      new Error(
        `${failedCount} of ${itemCount} items failed (${((failedCount / itemCount) * 100).toFixed(2)}%, tolerated ${options.toleratedFailurePercentage}%): ${options.batch ? "batches" : "items"} ${shown}; every failure is in ${details.Key.replace(/manifest\.json$/, "FAILED_0.json")}`,
      ),
      { name: EXCEED_TOLERATED_FAILURE },
    );
  }
  return summary;
}

/** Bytes of a batch's JSON: `{"Items":[…],"BatchInput":…}`. */
function batchBytes(itemBytes: number, count: number, batchInputBytes: number): number {
  return '{"Items":[],"BatchInput":}'.length + itemBytes + Math.max(0, count - 1) + batchInputBytes;
}

/**
 * Groups items into `{ Items, BatchInput }` batches, read lazily like the
 * items. An item too large for `maxBytes` on its own fails the map run, as
 * Step Functions fails it.
 */
async function* batches(
  items: AsyncIterable<unknown>,
  batch: NonNullable<MapRunOptions["batch"]>,
  counted: { items: number },
): AsyncGenerator<{ Items: unknown[]; BatchInput: unknown }> {
  const maxItems = batch.maxItems ?? Number.POSITIVE_INFINITY;
  const maxBytes = batch.maxBytes ?? Number.POSITIVE_INFINITY;
  const inputBytes = Buffer.byteLength(JSON.stringify(batch.batchInput ?? {}));
  let current: unknown[] = [];
  let bytes = 0;
  for await (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? "null");
    if (batchBytes(size, 1, inputBytes) > maxBytes)
      throw Object.assign(
        new Error(
          `item ${counted.items} is ${size} bytes of JSON, more than a batch of foreach.batch.maxBytes=${maxBytes} holds with its BatchInput`,
        ),
        { name: "States.ItemReaderFailed" },
      );
    if (
      current.length > 0 &&
      (current.length >= maxItems || batchBytes(bytes + size, current.length + 1, inputBytes) > maxBytes)
    ) {
      yield { Items: current, BatchInput: batch.batchInput };
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
    counted.items++;
  }
  if (current.length > 0) yield { Items: current, BatchInput: batch.batchInput };
}
