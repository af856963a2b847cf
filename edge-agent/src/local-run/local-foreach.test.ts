import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IrItemReader, IrStep } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { LocalJobFileStore } from "../local-job-files.ts";
import { ITEM_READER_FAILED, localDistributedMapFiles } from "./local-foreach.ts";

const PREFIX = "wf/run-1/";

async function setup(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), "ferry-foreach-"));
  const store = new LocalJobFileStore(root);
  for (const [name, body] of Object.entries(files)) {
    await store.put({ bucket: "b", prefix: PREFIX, site: "lab" }, name, body);
  }
  return { store, files: localDistributedMapFiles(store, "b") };
}

async function all(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const records = (file: string, format: "json" | "csv" | "jsonl"): IrItemReader => ({
  kind: "records",
  file,
  format,
});

describe("local Distributed Map items", () => {
  it("reads the records of a JSON array, a CSV file with a header row and JSON lines", async () => {
    const { files } = await setup({
      "a.json": JSON.stringify([{ n: 1 }, { n: 2 }, "three"]),
      "b.csv": 'n,name\n1,"x, y"\n2,z\n',
      "c.jsonl": '{"n":1}\n\n{"n":2}\n',
    });
    expect(await all(files.readItems(records("a.json", "json"), "lab", PREFIX))).toEqual([
      { n: 1 },
      { n: 2 },
      "three",
    ]);
    // As Step Functions' CSV reader: every value a string.
    expect(await all(files.readItems(records("b.csv", "csv"), "lab", PREFIX))).toEqual([
      { n: "1", name: "x, y" },
      { n: "2", name: "z" },
    ]);
    expect(await all(files.readItems(records("c.jsonl", "jsonl"), "lab", PREFIX))).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
  });

  it("lists the files under a prefix as ListObjectsV2 entries with their full keys", async () => {
    const { files } = await setup({
      "parts/b.txt": "bb",
      "parts/a.txt": "a",
      "parts/sub/c.txt": "ccc",
      "other.txt": "",
    });
    const items = (await all(files.readItems({ kind: "files", prefix: "parts/" }, "lab", PREFIX))) as Array<{
      Key: string;
      Size: number;
    }>;
    expect(items.map((i) => [i.Key, i.Size])).toEqual([
      ["wf/lab/run-1/parts/a.txt", 1],
      ["wf/lab/run-1/parts/b.txt", 2],
      ["wf/lab/run-1/parts/sub/c.txt", 3],
    ]);
    expect(await all(files.readItems({ kind: "files", prefix: "none/" }, "lab", PREFIX))).toEqual([]);
  });

  it("fails with States.ItemReaderFailed on a malformed or missing records file, naming it", async () => {
    const { files } = await setup({ "bad.jsonl": '{"n":1}\nnot json\n', "bad.json": "[1, 2," });
    await expect(all(files.readItems(records("bad.jsonl", "jsonl"), "lab", PREFIX))).rejects.toMatchObject({
      name: ITEM_READER_FAILED,
      message: expect.stringContaining('job file "bad.jsonl" (line 2)'),
    });
    await expect(all(files.readItems(records("bad.json", "json"), "lab", PREFIX))).rejects.toMatchObject({
      name: ITEM_READER_FAILED,
    });
    await expect(all(files.readItems(records("gone.json", "json"), "lab", PREFIX))).rejects.toMatchObject({
      name: ITEM_READER_FAILED,
      message: expect.stringContaining('"gone.json"'),
    });
  });
});

describe("local Distributed Map results", () => {
  it("streams entries to SUCCEEDED_0.json and FAILED_0.json and lists them in the manifest", async () => {
    const { store, files } = await setup({});
    const sink = await files.openResults({ name: "each", site: "lab" } as IrStep, PREFIX, "run-a");
    await sink.write({ Name: "0", Status: "SUCCEEDED", Input: "{}", Output: '{"ok":1}' });
    await sink.write({ Name: "1", Status: "FAILED", Input: "{}", Error: "E", Cause: "c" });
    await sink.write({ Name: "2", Status: "SUCCEEDED", Input: "{}", Output: '{"ok":2}' });
    const details = await sink.close();
    expect(details).toEqual({ Bucket: "b", Key: "wf/lab/run-1/.ferry/foreach/each/run-a/manifest.json" });
    const ref = { bucket: "b", prefix: PREFIX, site: "lab" };
    const manifest = JSON.parse(
      readFileSync(store.pathOf(ref, ".ferry/foreach/each/run-a/manifest.json"), "utf8"),
    );
    expect(manifest.ResultFiles.SUCCEEDED[0].Key).toBe(
      "wf/lab/run-1/.ferry/foreach/each/run-a/SUCCEEDED_0.json",
    );
    expect(manifest.ResultFiles.FAILED).toHaveLength(1);
    const ok = JSON.parse(
      readFileSync(store.pathOf(ref, ".ferry/foreach/each/run-a/SUCCEEDED_0.json"), "utf8"),
    );
    expect(ok.map((e: { Output: string }) => JSON.parse(e.Output).ok)).toEqual([1, 2]);
  });

  it("writes an empty SUCCEEDED_0.json when there were no items", async () => {
    const { store, files } = await setup({});
    const sink = await files.openResults({ name: "each", site: "lab" } as IrStep, PREFIX, "run-b");
    await sink.close();
    const ref = { bucket: "b", prefix: PREFIX, site: "lab" };
    expect(readFileSync(store.pathOf(ref, ".ferry/foreach/each/run-b/SUCCEEDED_0.json"), "utf8")).toBe("[]");
  });
});
