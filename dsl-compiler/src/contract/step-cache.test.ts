import { describe, expect, it } from "vitest";
import { canonicalJson, sha256 } from "./manifest.ts";
import { type CacheEntry, checkCacheEntry, type StepCacheKeyParts, stepCacheKey } from "./step-cache.ts";

const parts: StepCacheKeyParts = {
  definitionHash: "d".repeat(64),
  runs: { imageDigest: "sha256:aaa" },
  input: { input: { n: 1 }, deps: { a: { x: 1 } } },
  inputFiles: { "in.csv": "f".repeat(64) },
};

function entry(key: string, extra: Partial<CacheEntry> = {}): CacheEntry {
  const output = { rows: 3 };
  return {
    v: 1,
    key,
    step: "s",
    definitionHash: "d".repeat(64),
    output,
    outputSha256: sha256(canonicalJson(output)),
    files: [],
    origin: { workflow: "w", execution: "e", step: "s", attempt: 1, site: "lab" },
    createdAt: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

describe("stepCacheKey", () => {
  it("is stable under key order and changes with every part", () => {
    const key = stepCacheKey(parts);
    expect(stepCacheKey({ ...parts, input: { deps: { a: { x: 1 } }, input: { n: 1 } } })).toBe(key);
    const changed: StepCacheKeyParts[] = [
      { ...parts, definitionHash: "e".repeat(64) },
      { ...parts, runs: { imageDigest: "sha256:bbb" } },
      { ...parts, runs: { ...parts.runs, codeHash: "c" } },
      { ...parts, input: { input: { n: 2 }, deps: { a: { x: 1 } } } },
      { ...parts, input: { input: { n: 1 }, deps: { a: { x: 2 } } } },
      { ...parts, inputFiles: { "in.csv": "0".repeat(64) } },
      { ...parts, extra: ["v2"] },
    ];
    const keys = new Set(changed.map(stepCacheKey));
    expect(keys.size).toBe(changed.length);
    expect(keys.has(key)).toBe(false);
  });
});

describe("checkCacheEntry", () => {
  const key = "a".repeat(64);
  it("accepts an intact, unexpired entry", () => {
    expect(checkCacheEntry(entry(key), key).ok).toBe(true);
  });
  it("refuses an altered output, another key, a torn entry and an expired one", () => {
    const altered = { ...entry(key), output: { rows: 4 } };
    expect(checkCacheEntry(altered, key)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("sha256"),
    });
    expect(checkCacheEntry(entry(key), "b".repeat(64))).toMatchObject({ ok: false });
    expect(checkCacheEntry({ v: 1, key }, key)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("corrupt"),
    });
    expect(checkCacheEntry(undefined, key)).toMatchObject({ ok: false });
    const expired = entry(key, { expiresAt: "2026-01-01T00:00:01.000Z" });
    expect(checkCacheEntry(expired, key, new Date("2026-01-01T00:00:00.500Z")).ok).toBe(true);
    expect(checkCacheEntry(expired, key, new Date("2026-01-01T00:00:01.000Z"))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("expired"),
    });
  });
});
