import { mkdtempSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type CacheEntry, checkCacheEntry, ProvenanceRecordSchema } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import type { CacheClaim, CacheLookup, CacheScope, StepCache } from "../cache/store.ts";
import type { StepHandler } from "../step-adapter.ts";
import { MemoryJobFileStore, RecordingTaskClient, stepMessage } from "../testing.ts";
import { SILENT_LOGGER } from "../worker/logger.ts";
import { type ResolvedLambdaConfig, resolveLambdaConfig } from "./config.ts";
import { processSqsBatch } from "./process-batch.ts";
import type { SqsEvent } from "./sqs-event.ts";

/** A step cache in memory (entries checked as the real stores check them); files kept in a folder. */
class MemoryCache implements StepCache {
  readonly entries = new Map<string, string>();
  readonly claims = new Set<string>();
  readonly blobs = mkdtempSync(join(tmpdir(), "ferry-cache-blobs-"));
  async lookup(_scope: CacheScope, key: string): Promise<CacheLookup> {
    const raw = this.entries.get(key);
    if (raw === undefined) return {};
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const checked = checkCacheEntry(json, key);
    if (checked.ok) return { hit: checked.entry };
    this.entries.delete(key);
    return { reason: checked.reason };
  }
  async restore(_scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<boolean> {
    for (const file of entry.files) {
      await mkdir(dirname(join(jobDir, file.name)), { recursive: true });
      await copyFile(join(this.blobs, file.sha256), join(jobDir, file.name));
    }
    return true;
  }
  async write(_scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<void> {
    for (const file of entry.files) await copyFile(join(jobDir, file.name), join(this.blobs, file.sha256));
    this.entries.set(entry.key, JSON.stringify(entry));
  }
  async claim(_scope: CacheScope, key: string): Promise<CacheClaim | undefined> {
    if (this.claims.has(key)) return undefined;
    this.claims.add(key);
    return { release: async () => void this.claims.delete(key) };
  }
}

const DEFINITION = "a".repeat(64);
const config: ResolvedLambdaConfig = {
  workflow: "hello",
  step: "load",
  heartbeatIntervalMs: 0,
  timeoutMarginMs: 3000,
  jobFiles: { site: "cloud", bucket: "job-bucket", inputs: {}, outputs: ["report.txt"] },
  successNudgesMs: [],
  definitionHash: "d".repeat(64),
  cache: { table: "cache-table", definitionHash: DEFINITION },
};
const context = { getRemainingTimeInMillis: () => 60_000 };
const event = (body: unknown): SqsEvent => ({
  Records: [{ messageId: "m1", body: JSON.stringify(body), attributes: { ApproximateReceiveCount: "1" } }],
});

function setUp() {
  const store = new MemoryJobFileStore();
  const cache = new MemoryCache();
  const workDir = mkdtempSync(join(tmpdir(), "ferry-batch-"));
  let runs = 0;
  const handler: StepHandler = async (_input, ctx) => {
    runs += 1;
    await writeFile(join(ctx.jobDir!, "report.txt"), `run ${runs}`);
    return { run: runs };
  };
  const answers = new RecordingTaskClient();
  const run = (
    execution: string,
    overrides: { codeHash?: string; noCache?: boolean; remainingMs?: number } = {},
  ) =>
    processSqsBatch(
      event(
        stepMessage({
          execution,
          token: `token-${execution}`,
          jobFiles: { bucket: "job-bucket", prefix: `hello/${execution}/` },
          ...(overrides.noCache ? { noCache: true } : {}),
        }),
      ),
      overrides.remainingMs ? { getRemainingTimeInMillis: () => overrides.remainingMs! } : context,
      {
        handler,
        tasks: answers,
        logger: SILENT_LOGGER,
        config,
        jobFiles: store,
        workDir,
        cache,
        codeHash: overrides.codeHash ?? "c".repeat(64),
        identity: { device: "lambda:test", agent: "ferry-functions/test" },
      },
    );
  const provenance = (execution: string) =>
    ProvenanceRecordSchema.parse(
      JSON.parse(
        store.files.get(`job-bucket/hello/${execution}/cloud/.ferry/provenance/load/1.json`)?.toString() ??
          "null",
      ),
    );
  return { store, cache, answers, run, runs: () => runs, provenance };
}

describe("processSqsBatch with the step cache", () => {
  it("given a succeeded attempt, when the same step and input arrive in another execution, then the recorded output and files answer without running the handler, and provenance says hit with the origin", async () => {
    const t = setUp();
    await t.run("exec-1");
    await t.run("exec-2");
    expect(t.runs()).toBe(1);
    expect(t.answers.successes).toEqual([{ run: 1 }, { run: 1 }]);
    expect(t.store.files.get("job-bucket/hello/exec-2/cloud/report.txt")?.toString()).toBe("run 1");
    expect(t.provenance("exec-1").cache.status).toBe("miss");
    const hit = t.provenance("exec-2");
    expect(hit.cache).toMatchObject({ status: "hit", origin: { execution: "exec-1", site: "cloud" } });
    expect(hit).toMatchObject({
      runtime: "lambda",
      definitionHash: "d".repeat(64),
      codeHash: "c".repeat(64),
    });
    expect(hit.outputFiles.map((f) => f.name)).toEqual(["report.txt"]);
    expect(t.cache.claims.size).toBe(0);
  });

  it("given another bundle (code hash), then it misses and runs", async () => {
    const t = setUp();
    await t.run("exec-1");
    await t.run("exec-2", { codeHash: "e".repeat(64) });
    expect(t.runs()).toBe(2);
    expect(t.answers.successes).toEqual([{ run: 1 }, { run: 2 }]);
  });

  it("given noCache in the message, then it runs without looking up but still writes the entry", async () => {
    const t = setUp();
    await t.run("exec-1");
    await t.run("exec-2", { noCache: true });
    await t.run("exec-3");
    expect(t.runs()).toBe(2);
    expect(t.answers.successes).toEqual([{ run: 1 }, { run: 2 }, { run: 2 }]);
  });

  it("given a corrupt entry, then it misses, runs and repairs it", async () => {
    const t = setUp();
    await t.run("exec-1");
    const [key] = [...t.cache.entries.keys()];
    const entry = JSON.parse(t.cache.entries.get(key!)!);
    t.cache.entries.set(key!, JSON.stringify({ ...entry, output: { run: 99 } }));
    await t.run("exec-2");
    await t.run("exec-3");
    expect(t.runs()).toBe(2);
    expect(t.answers.successes).toEqual([{ run: 1 }, { run: 2 }, { run: 2 }]);
  });

  it("given another run holding the key past its wait, then this one runs too (the wait is bounded)", async () => {
    const t = setUp();
    await t.run("exec-1", { codeHash: "f".repeat(64) });
    const [key] = [...t.cache.entries.keys()];
    t.cache.entries.clear();
    t.cache.claims.add(key!);
    // 3 s left after the margin: it waits half of that for the holder's entry.
    await t.run("exec-2", { codeHash: "f".repeat(64), remainingMs: 6_000 });
    expect(t.runs()).toBe(2);
    expect(t.answers.successes).toEqual([{ run: 1 }, { run: 2 }]);
  }, 120_000);
});

describe("resolveLambdaConfig cache fields", () => {
  const base = { FERRY_WORKFLOW: "hello", FERRY_STEP: "load", FERRY_SITE: "cloud", FERRY_JOB_BUCKET: "b" };
  it("reads FERRY_CACHE and FERRY_CACHE_TABLE", () => {
    const resolved = resolveLambdaConfig({
      ...base,
      FERRY_DEFINITION_HASH: "d".repeat(64),
      FERRY_CACHE: JSON.stringify({ hash: DEFINITION, ttl: 60, key: ["v2"] }),
      FERRY_CACHE_TABLE: "t",
    });
    expect(resolved.cache).toEqual({ table: "t", definitionHash: DEFINITION, ttlSeconds: 60, key: ["v2"] });
    expect(resolved.definitionHash).toBe("d".repeat(64));
  });
  it("refuses FERRY_CACHE without its table, and a malformed FERRY_CACHE", () => {
    expect(() => resolveLambdaConfig({ ...base, FERRY_CACHE: JSON.stringify({ hash: DEFINITION }) })).toThrow(
      /FERRY_CACHE_TABLE/,
    );
    for (const bad of ["{", '{"hash":"x"}', `{"hash":"${DEFINITION}","extra":1}`, "[]"]) {
      expect(() => resolveLambdaConfig({ ...base, FERRY_CACHE: bad, FERRY_CACHE_TABLE: "t" })).toThrow(
        /FERRY_CACHE/,
      );
    }
  });
});
