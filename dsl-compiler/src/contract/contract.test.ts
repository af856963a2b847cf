import { describe, expect, it } from "vitest";
import { retriers } from "../asl/step-state.ts";
import { DEFAULT_RETRY } from "../ir/ir.ts";
import {
  attemptKeyParts,
  batchId,
  cacheKey,
  executionPrefix,
  FERRY_ERRORS,
  formatWorkerEnv,
  heartbeatIntervalMs,
  isFinalAttempt,
  isRetriable,
  jobFileKey,
  logName,
  maxRetries,
  NON_RETRIABLE_ERRORS,
  outputName,
  parseExecutionPrefix,
  parseWorkerEnv,
  provenanceName,
  retryDelaySeconds,
  StepMessageSchema,
  sharedCachePattern,
  siteKeyPatterns,
  TASK_ERROR_RETRYABLE,
} from "./index.ts";

/** IAM's `*` matches any run of characters, slashes included. */
function matches(pattern: string, key: string): boolean {
  const re = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${re.join(".*")}$`).test(key);
}

describe("the error table", () => {
  it("is what the compiled Retry field and isRetriable both read", () => {
    const [first] = retriers({ ...DEFAULT_RETRY, maxAttempts: 3 })!;
    expect(first).toEqual({ ErrorEquals: NON_RETRIABLE_ERRORS, MaxAttempts: 0 });
    for (const [name, retryable] of Object.entries(TASK_ERROR_RETRYABLE))
      expect(isRetriable(name)).toBe(retryable);
    expect(isRetriable({ error: FERRY_ERRORS.nonRetriable, cause: "" })).toBe(false);
    expect(isRetriable(Object.assign(new Error("x"), { taskError: FERRY_ERRORS.nonRetriable }))).toBe(false);
    expect(isRetriable(new Error("a user's error"))).toBe(true);
    expect(isRetriable("DataMissing")).toBe(true);
  });
});

describe("retry and heartbeat rules", () => {
  it("counts the first attempt in maxAttempts", () => {
    expect(maxRetries(1)).toBe(0);
    expect(maxRetries(3)).toBe(2);
    expect(isFinalAttempt(2, 3)).toBe(false);
    expect(isFinalAttempt(3, 3)).toBe(true);
    expect(retriers({ ...DEFAULT_RETRY, maxAttempts: 1 })).toBeUndefined();
  });

  it("waits as Step Functions does between attempts", () => {
    expect(retryDelaySeconds({ intervalSeconds: 2, backoffRate: 3 }, 1)).toBe(2);
    expect(retryDelaySeconds({ intervalSeconds: 2, backoffRate: 3 }, 3)).toBe(18);
    expect(retryDelaySeconds({ intervalSeconds: 2, backoffRate: 3, maxDelaySeconds: 10 }, 3)).toBe(10);
  });

  it("beats three times per heartbeat window, at most once a second, and not at all without one", () => {
    expect(heartbeatIntervalMs(60)).toBe(20_000);
    expect(heartbeatIntervalMs(1)).toBe(1000);
    expect(heartbeatIntervalMs(undefined)).toBeUndefined();
    expect(heartbeatIntervalMs(0)).toBeUndefined();
  });
});

describe("the worker environment", () => {
  it("round-trips what infra writes", () => {
    const env = formatWorkerEnv({
      FERRY_SITE: "lab",
      FERRY_QUEUE_URLS: ["http://q/1", "http://q/2"],
      FERRY_CONCURRENCY: 4,
    });
    expect(env).toEqual({
      FERRY_SITE: "lab",
      FERRY_QUEUE_URLS: "http://q/1,http://q/2",
      FERRY_CONCURRENCY: "4",
    });
    expect(parseWorkerEnv(env)).toEqual({
      ok: true,
      env: { FERRY_SITE: "lab", FERRY_QUEUE_URLS: ["http://q/1", "http://q/2"], FERRY_CONCURRENCY: 4 },
    });
  });

  it("names a bad variable and its value, and ignores others", () => {
    expect(parseWorkerEnv({ FERRY_CONCURRENCY: "lots", PATH: "/bin" })).toEqual({
      ok: false,
      issues: ['FERRY_CONCURRENCY="lots": must be a number'],
    });
    expect(parseWorkerEnv({ FERRY_SITE: "" })).toEqual({ ok: true, env: {} });
  });
});

describe("the step message's item index", () => {
  const message = {
    v: 1,
    token: "t",
    workflow: "w",
    execution: "e",
    step: "s",
    attempt: 1,
    input: { input: null, deps: {} },
    jobFiles: { bucket: "b", prefix: "w/e/" },
  };
  it("is optional, so messages without one still parse, and a non-negative integer when present", () => {
    expect(StepMessageSchema.safeParse(message).success).toBe(true);
    expect(StepMessageSchema.parse({ ...message, index: 7 }).index).toBe(7);
    for (const index of [-1, 1.5, "3", null])
      expect(StepMessageSchema.safeParse({ ...message, index }).success).toBe(false);
  });
});

describe("the bucket key layout", () => {
  const prefix = executionPrefix("etl", "run-1");
  const attempt = { step: "train", attempt: 2 };

  it("puts every key under the workflow, and what a worker writes under its site", () => {
    expect(prefix).toBe("etl/run-1/");
    expect(parseExecutionPrefix(prefix)).toEqual({ workflow: "etl", execution: "run-1" });
    expect(jobFileKey(prefix, "lab", "data/in.csv")).toBe("etl/lab/run-1/data/in.csv");
    expect(jobFileKey(prefix, "lab", outputName("train", "ab12"))).toBe(
      "etl/lab/run-1/.ferry/outputs/train/ab12.json",
    );
    expect(logName(attempt)).toBe(".ferry/logs/train/2.log");
    expect(logName({ ...attempt, item: 3 })).toBe(".ferry/logs/train/item-3/2.log");
    expect(provenanceName(attempt)).toBe(".ferry/provenance/train/2.json");
    expect(cacheKey("etl", "lab", "train", "k1")).toBe("etl/.ferry-cache/lab/train/k1.json");
  });

  it("gives each site IAM patterns, each a fixed prefix plus *, that cover its own keys and no other site's", () => {
    const lab = siteKeyPatterns("etl", "lab");
    const plant = siteKeyPatterns("etl", "plant");
    const own = [
      jobFileKey(prefix, "lab", "data/in.csv"),
      jobFileKey(prefix, "lab", outputName("train", "x")),
      jobFileKey(prefix, "lab", logName(attempt)),
      jobFileKey(prefix, "lab", provenanceName(attempt)),
      // A crafted name holding another site's folder stays inside the writer's own.
      jobFileKey(prefix, "lab", "plant/run-1/data/in.csv"),
    ];
    for (const key of own) {
      expect(matches(lab.files, key), key).toBe(true);
      expect(matches(plant.files, key), key).toBe(false);
    }
    expect(matches(plant.files, jobFileKey(prefix, "lab", "plant/run-1/data/in.csv"))).toBe(false);
    expect(matches(lab.cache, cacheKey("etl", "lab", "train", "k"))).toBe(true);
    expect(matches(plant.cache, cacheKey("etl", "lab", "train", "k"))).toBe(false);
    expect(matches(sharedCachePattern("etl"), cacheKey("etl", "plant", "train", "k"))).toBe(true);
    expect(matches(lab.files, "other/lab/run-1/data/in.csv")).toBe(false);
    for (const pattern of [lab.files, lab.cache, sharedCachePattern("etl")]) {
      expect(pattern.indexOf("*"), pattern).toBe(pattern.length - 1);
    }
  });

  it("gives each batch of a batched foreach its own log and provenance key, the same for every attempt of it", () => {
    // Given two batches' messages (no index; the item is { Items, BatchInput }) and an item's
    const batch = (items: unknown[], n: number) =>
      attemptKeyParts({
        step: "chunk",
        attempt: n,
        input: { item: { Items: items, BatchInput: { tag: "t" } } },
      });
    const first = batch([{ n: 0 }, { n: 1 }], 1);
    const second = batch([{ n: 2 }, { n: 3 }], 1);
    // Then each batch has its own key, and a retry of one keeps its id
    expect(first.batch).toMatch(/^[0-9a-f]{16}$/);
    expect(second.batch).not.toBe(first.batch);
    expect(batch([{ n: 0 }, { n: 1 }], 2)).toEqual({ step: "chunk", attempt: 2, batch: first.batch });
    expect(first.batch).toBe(batchId([{ n: 0 }, { n: 1 }]));
    expect(logName(first)).toBe(`.ferry/logs/chunk/batch-${first.batch}/1.log`);
    expect(provenanceName(second)).toBe(`.ferry/provenance/chunk/batch-${second.batch}/1.json`);
    // An item keeps its index, and a step outside a Map neither
    expect(attemptKeyParts({ step: "s", attempt: 1, index: 4, input: { item: { Items: [] } } })).toEqual({
      step: "s",
      attempt: 1,
      item: 4,
    });
    expect(attemptKeyParts({ step: "s", attempt: 1, input: {} })).toEqual({ step: "s", attempt: 1 });
    expect(() => logName({ ...attempt, batch: "../x" })).toThrow(/not 16 hex digits/);
  });

  it("refuses a name that would leave its key segment", () => {
    expect(() => outputName("../train", "x")).toThrow(/cannot be an S3 key segment/);
    expect(() => logName({ ...attempt, attempt: 0 })).toThrow(/attempt must be an integer/);
    expect(() => jobFileKey(prefix, "lab", "../../plant/run-1/x")).toThrow(/relative path/);
    expect(() => jobFileKey("etl/run-1/extra/", "lab", "x")).toThrow(/not <workflow>\/<execution>\//);
    expect(() => jobFileKey(prefix, "../plant", "x")).toThrow(/cannot be an S3 key segment/);
  });
});
