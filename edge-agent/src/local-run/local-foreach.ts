import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, opendir, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import type { IrItemReader, IrStep } from "@ferry/dsl-compiler";
import {
  type ForeachManifest,
  type ForeachResultEntry,
  foreachResultsFolder,
  jobFileKey,
} from "@ferry/dsl-compiler/contract";
import type { DistributedMapFiles } from "@ferry/dsl-compiler/interpreter";
import { parse as parseCsv } from "csv-parse";
import streamArray from "stream-json/streamers/stream-array.js";
import type { LocalJobFileStore } from "../local-job-files.ts";

/** Step Functions' error name when a Distributed Map cannot read its items. */
export const ITEM_READER_FAILED = "States.ItemReaderFailed";

/**
 * A Distributed Map's items and results in `ferry run`'s job-file folder:
 * items are read lazily (a directory walk for files, a streaming parser for
 * records), results are appended to `SUCCEEDED_0.json` / `FAILED_0.json`
 * as items finish, and `manifest.json` lists them, all in Step Functions'
 * ResultWriter format and under the keys it would use.
 */
export function localDistributedMapFiles(store: LocalJobFileStore, bucket: string): DistributedMapFiles {
  return {
    readItems: (reader, site, prefix) => readItems(store, bucket, reader, site, prefix),
    openResults: async (step, prefix, mapRunId) => openResults(store, bucket, step, prefix, mapRunId),
  };
}

async function* readItems(
  store: LocalJobFileStore,
  bucket: string,
  reader: IrItemReader,
  site: string,
  prefix: string,
): AsyncGenerator<unknown> {
  const ref = { bucket, prefix, site };
  if (reader.kind === "files") {
    // The folder the prefix lies in; names are then matched as S3 matches key prefixes.
    const folder = reader.prefix.includes("/")
      ? reader.prefix.slice(0, reader.prefix.lastIndexOf("/") + 1)
      : "";
    const root = store.folderOf(ref);
    for await (const path of walk(join(root, folder))) {
      const name = relative(root, path).split(sep).join("/");
      if (!name.startsWith(reader.prefix)) continue;
      const info = await stat(path);
      // As ListObjectsV2 lists it.
      yield {
        Key: jobFileKey(prefix, site, name),
        Size: info.size,
        LastModified: info.mtime.toISOString(),
        StorageClass: "STANDARD",
      };
    }
    return;
  }
  const path = store.pathOf(ref, reader.file);
  const input = createReadStream(path);
  const fail = (error: unknown, where = "") =>
    Object.assign(
      new Error(
        `cannot read ${reader.format} records of job file "${reader.file}"${where}: ${(error as Error).message}`,
      ),
      { name: ITEM_READER_FAILED },
    );
  try {
    if (reader.format === "json") {
      const parser = input.pipe(streamArray.withParserAsStream());
      input.on("error", (error) => parser.destroy(error));
      for await (const { value } of parser as AsyncIterable<{ value: unknown }>) yield value;
    } else if (reader.format === "jsonl") {
      let line = 0;
      for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
        line++;
        if (text.trim() === "") continue;
        try {
          yield JSON.parse(text);
        } catch (error) {
          throw fail(error, ` (line ${line})`);
        }
      }
    } else {
      // Header in the first row, every value a string: Step Functions' CSV reader does the same.
      const parser = input.pipe(parseCsv({ columns: true, skip_empty_lines: true }));
      input.on("error", (error) => parser.destroy(error));
      for await (const row of parser) yield row;
    }
  } catch (error) {
    if ((error as Error).name === ITEM_READER_FAILED) throw error;
    throw fail(error);
  } finally {
    input.destroy();
  }
}

/** Files under `dir`, depth-first in name order; nothing when it does not exist. */
async function* walk(dir: string): AsyncGenerator<string> {
  let entries: string[];
  try {
    const handle = await opendir(dir);
    entries = [];
    for await (const entry of handle) entries.push(entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    const info = await stat(path);
    if (info.isDirectory()) yield* walk(path);
    else if (info.isFile()) yield path;
  }
}

type Status = "SUCCEEDED" | "FAILED";

async function openResults(
  store: LocalJobFileStore,
  bucket: string,
  step: IrStep,
  prefix: string,
  mapRunId: string,
): Promise<{
  write(entry: ForeachResultEntry): Promise<void>;
  close(): Promise<{ Bucket: string; Key: string }>;
}> {
  const ref = { bucket, prefix, site: step.site };
  const folder = `${foreachResultsFolder(step.name)}${mapRunId}/`;
  const streams = new Map<Status, { out: WriteStream; name: string; count: number }>();
  await mkdir(dirname(store.pathOf(ref, `${folder}manifest.json`)), { recursive: true });
  const streamFor = (status: Status) => {
    let s = streams.get(status);
    if (!s) {
      const name = `${folder}${status}_0.json`;
      s = { out: createWriteStream(store.pathOf(ref, name)), name, count: 0 };
      streams.set(status, s);
    }
    return s;
  };
  return {
    async write(entry) {
      const s = streamFor(entry.Status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED");
      // Backpressure: a slow disk slows the items down instead of filling memory.
      if (!s.out.write(`${s.count++ === 0 ? "[" : ","}${JSON.stringify(entry)}`)) await once(s.out, "drain");
    },
    async close() {
      // SUCCEEDED_0.json is written even when empty, so dependants always find one.
      streamFor("SUCCEEDED");
      const files: ForeachManifest["ResultFiles"] = { SUCCEEDED: [], FAILED: [], PENDING: [] };
      for (const [status, s] of streams) {
        await new Promise<void>((resolve, reject) => {
          s.out.end(s.count === 0 ? "[]" : "]", () => resolve());
          s.out.once("error", reject);
        });
        const size = (await stat(store.pathOf(ref, s.name))).size;
        files[status].push({ Key: jobFileKey(prefix, step.site, s.name), Size: size });
      }
      const manifestName = `${folder}manifest.json`;
      const manifest: ForeachManifest = {
        DestinationBucket: bucket,
        MapRunArn: `local:${step.name}:${mapRunId}`,
        ResultFiles: files,
      };
      await writeFile(store.pathOf(ref, manifestName), JSON.stringify(manifest, null, 2));
      return { Bucket: bucket, Key: jobFileKey(prefix, step.site, manifestName) };
    },
  };
}
