import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CacheEntry, canonicalJson, sha256 } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { LocalStepCache } from "./local-step-cache.ts";

const scope = { workflow: "w", site: "lab", step: "s" };

function setup(maxBytes?: number) {
  const root = mkdtempSync(join(tmpdir(), "ferry-step-cache-"));
  const jobDir = join(root, "job");
  const cache = new LocalStepCache({ dir: join(root, "cache"), ...(maxBytes ? { maxBytes } : {}) });
  return { root, jobDir, cache };
}

function entryFor(key: string, files: Record<string, string>): CacheEntry {
  const output = { key };
  return {
    v: 1,
    key,
    step: "s",
    definitionHash: "d",
    output,
    outputSha256: sha256(canonicalJson(output)),
    files: Object.entries(files).map(([name, body]) => ({
      name,
      sha256: sha256(body),
      sizeBytes: body.length,
    })),
    origin: { workflow: "w", execution: "e1", step: "s", attempt: 1, site: "lab" },
    createdAt: new Date().toISOString(),
  };
}

async function stored(cache: LocalStepCache, jobDir: string, key: string, files: Record<string, string>) {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(jobDir, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(jobDir, name), body);
  const entry = entryFor(key, files);
  await cache.write(scope, entry, jobDir);
  return entry;
}

describe("LocalStepCache", () => {
  it("answers a stored entry and restores its files by content", async () => {
    const { root, jobDir, cache } = setup();
    const key = "a".repeat(64);
    await stored(cache, jobDir, key, { "out.txt": "hello\n" });
    const found = await cache.lookup(scope, key);
    expect(found.hit?.output).toEqual({ key });
    const dest = join(root, "next");
    expect(await cache.restore(scope, found.hit!, dest)).toBe(true);
    expect(readFileSync(join(dest, "out.txt"), "utf8")).toBe("hello\n");
    expect(await cache.lookup(scope, "b".repeat(64))).toEqual({});
  });

  it("drops an entry whose file no longer matches its sha256", async () => {
    const { root, jobDir, cache } = setup();
    const key = "c".repeat(64);
    const entry = await stored(cache, jobDir, key, { "out.txt": "hello\n" });
    const blobs = join(root, "cache", "blobs");
    for (const blob of readdirSync(blobs)) writeFileSync(join(blobs, blob), "evil\n");
    expect(await cache.restore(scope, entry, join(root, "next"))).toBe(false);
    expect(await cache.lookup(scope, key)).toEqual({});
  });

  it("lets one caller claim a key until it releases it", async () => {
    const { cache } = setup();
    const key = "d".repeat(64);
    const claim = await cache.claim(scope, key, 60_000);
    expect(claim).toBeDefined();
    expect(await cache.claim(scope, key, 60_000)).toBeUndefined();
    await claim!.release();
    expect(await cache.claim(scope, key, 60_000)).toBeDefined();
    // A claim past its hold (its holder died) is taken over.
    const other = "e".repeat(64);
    await cache.claim(scope, other, -1);
    expect(await cache.claim(scope, other, 60_000)).toBeDefined();
  });

  it("evicts the least recently used entries past its size cap", async () => {
    const { jobDir, cache } = setup(3500);
    const keys = ["1", "2", "3"].map((c) => c.repeat(64));
    await stored(cache, jobDir, keys[0]!, { "a.bin": "x".repeat(1000) });
    await new Promise((r) => setTimeout(r, 20));
    await stored(cache, jobDir, keys[1]!, { "b.bin": "y".repeat(1000) });
    await new Promise((r) => setTimeout(r, 20));
    await cache.lookup(scope, keys[0]!);
    await stored(cache, jobDir, keys[2]!, { "c.bin": "z".repeat(1000) });
    const left = (await cache.list()).map((e) => e.key);
    expect(left).toContain(keys[0]);
    expect(left).toContain(keys[2]);
    expect(left).not.toContain(keys[1]);
  });
});
