import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalJobFileStore } from "./local-job-files.ts";

describe("LocalJobFileStore.append", () => {
  const ref = { bucket: "", prefix: "wf/run-1/", site: "lab" };

  it("keeps every line of concurrent appends, in call order, and settles each call once written", async () => {
    const root = mkdtempSync(join(tmpdir(), "ferry-append-"));
    const store = new LocalJobFileStore(root);
    const lines = Array.from({ length: 500 }, (_, n) => `{"n":${n}}\n`);
    await Promise.all(lines.map((line) => store.append(ref, ".ferry/provenance/each/items.jsonl", line)));
    expect(readFileSync(store.pathOf(ref, ".ferry/provenance/each/items.jsonl"), "utf8")).toBe(
      lines.join(""),
    );
    await store.append(ref, ".ferry/provenance/each/items.jsonl", "last\n");
    expect(readFileSync(store.pathOf(ref, ".ferry/provenance/each/items.jsonl"), "utf8")).toMatch(
      /\}\nlast\n$/,
    );
  });

  it("rejects every waiting call when the write fails, and writes again afterwards", async () => {
    const root = mkdtempSync(join(tmpdir(), "ferry-append-"));
    const store = new LocalJobFileStore(root);
    // A file where the folder should be: mkdir fails.
    writeFileSync(join(root, "blocker"), "");
    const bad = { ...ref, prefix: "blocker/" };
    const results = await Promise.allSettled([1, 2, 3].map((n) => store.append(bad, "x.jsonl", `${n}\n`)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    await store.append(ref, "x.jsonl", "ok\n");
    expect(readFileSync(store.pathOf(ref, "x.jsonl"), "utf8")).toBe("ok\n");
  });
});
