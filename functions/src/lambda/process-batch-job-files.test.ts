import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { batchId, isOutputRef, MAX_PAYLOAD_BYTES } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import type { StepContext, StepHandler } from "../step-adapter.ts";
import { MemoryJobFileStore, RecordingTaskClient, stepMessage } from "../testing.ts";
import { SILENT_LOGGER } from "../worker/logger.ts";
import type { ResolvedLambdaConfig } from "./config.ts";
import { processSqsBatch } from "./process-batch.ts";
import type { SqsEvent } from "./sqs-event.ts";

const config: ResolvedLambdaConfig = {
  workflow: "hello",
  step: "load",
  heartbeatIntervalMs: 0,
  timeoutMarginMs: 3000,
  jobFiles: {
    site: "cloud",
    bucket: "job-bucket",
    inputs: { "raw/data.csv": "edge" },
    outputs: ["report.txt"],
  },
  successNudgesMs: [],
};
const context = { getRemainingTimeInMillis: () => 60_000 };
const event = (body: unknown): SqsEvent => ({
  Records: [{ messageId: "m1", body: JSON.stringify(body), attributes: { ApproximateReceiveCount: "1" } }],
});
const prefix = "hello/exec-1/";

function setUp() {
  const store = new MemoryJobFileStore();
  const workDir = mkdtempSync(join(tmpdir(), "ferry-batch-"));
  store.files.set(`job-bucket/${prefix}edge/raw/data.csv`, Buffer.from("a,b\n1,2\n"));
  // An upstream output too large for Step Functions, stored by its worker and passed by reference.
  store.files.set(`job-bucket/${prefix}edge/.ferry/outputs/transform/abc.json`, Buffer.from('{"rows":2}'));
  const message = stepMessage({
    input: {
      input: {},
      deps: {
        transform: {
          ferryOutputRef: {
            bucket: "job-bucket",
            prefix,
            site: "edge",
            name: ".ferry/outputs/transform/abc.json",
            sizeBytes: 10,
          },
        },
      },
    },
  });
  return { store, workDir, message };
}

describe("processSqsBatch with job files", () => {
  it("given inputs, an output reference and a large output, when the handler succeeds, then it sees staged files and resolved deps, outputs are uploaded and the large output goes by reference", async () => {
    const { store, workDir, message } = setUp();
    const answers = new RecordingTaskClient();
    let seen: { deps: unknown; csv: string; context: StepContext } | undefined;
    const handler: StepHandler = async (input, ctx) => {
      const csv = await readFile(join(ctx.jobDir!, "raw/data.csv"), "utf8");
      seen = { deps: input.deps, csv, context: ctx };
      await writeFile(join(ctx.jobDir!, "report.txt"), "2 rows");
      return { blob: "x".repeat(MAX_PAYLOAD_BYTES) };
    };
    const response = await processSqsBatch(event(message), context, {
      handler,
      tasks: answers,
      logger: SILENT_LOGGER,
      config,
      jobFiles: store,
      workDir,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(seen!.deps).toEqual({ transform: { rows: 2 } });
    expect(seen!.csv).toBe("a,b\n1,2\n");
    expect(seen!.context.jobDir!.startsWith(workDir)).toBe(true);
    expect(store.files.get(`job-bucket/${prefix}cloud/report.txt`)?.toString()).toBe("2 rows");
    const [output] = answers.successes;
    expect(isOutputRef(output)).toBe(true);
    const ref = (output as { ferryOutputRef: { site: string; name: string; sizeBytes: number } })
      .ferryOutputRef;
    expect(ref.site).toBe("cloud");
    expect(ref.name).toMatch(/^\.ferry\/outputs\/load\/[0-9a-f]{16}\.json$/);
    expect(ref.sizeBytes).toBeGreaterThan(MAX_PAYLOAD_BYTES);
    const stored = store.files.get(`job-bucket/${prefix}cloud/${ref.name}`)!;
    expect((JSON.parse(stored.toString()) as { blob: string }).blob.length).toBe(MAX_PAYLOAD_BYTES);
    // The record's folder is gone: a warm environment's /tmp carries nothing into the next record.
    expect(existsSync(seen!.context.jobDir!)).toBe(false);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("given a handler that does not write a declared output, when processed, then the step fails with Ferry.InvalidOutput", async () => {
    const { store, workDir, message } = setUp();
    const answers = new RecordingTaskClient();
    await processSqsBatch(event(message), context, {
      handler: () => ({ ok: true }),
      tasks: answers,
      logger: SILENT_LOGGER,
      config,
      jobFiles: store,
      workDir,
    });
    expect(answers.failures).toEqual([
      expect.objectContaining({ error: "Ferry.InvalidOutput", cause: expect.stringMatching(/report\.txt/) }),
    ]);
  });

  it("given a message naming another bucket, when processed, then it is rejected and no code runs", async () => {
    const { store, workDir, message } = setUp();
    const answers = new RecordingTaskClient();
    let ran = false;
    const response = await processSqsBatch(
      event({ ...message, jobFiles: { bucket: "elsewhere", prefix } }),
      context,
      {
        handler: () => {
          ran = true;
          return {};
        },
        tasks: answers,
        logger: SILENT_LOGGER,
        config,
        jobFiles: store,
        workDir,
      },
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m1" }]);
    expect(ran).toBe(false);
    expect(answers.successes.length + answers.failures.length).toBe(0);
  });
});

describe("processSqsBatch's attempt logs", () => {
  const plain: ResolvedLambdaConfig = {
    ...config,
    jobFiles: { ...config.jobFiles, inputs: {}, outputs: [] },
  };
  const logOf = (store: MemoryJobFileStore, execution: string) =>
    store.files.get(`job-bucket/hello/${execution}/cloud/.ferry/logs/load/1.log`)?.toString();

  it("given two records whose handlers log at the same time, when processed, then each attempt's log holds its own console output under the contract's key", async () => {
    const store = new MemoryJobFileStore();
    const answers = new RecordingTaskClient();
    const records = ["exec-1", "exec-2"].map((execution, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify(
        stepMessage({ execution, jobFiles: { bucket: "job-bucket", prefix: `hello/${execution}/` } }),
      ),
      attributes: { ApproximateReceiveCount: "1" },
    }));
    const handler: StepHandler = async (_input, ctx) => {
      for (let i = 0; i < 3; i++) {
        console.log("%s line %d", ctx.execution, i);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (ctx.execution === "exec-2") {
        console.error("about to fail");
        throw new Error("exec-2 broke");
      }
      return { ok: true };
    };
    await processSqsBatch({ Records: records }, context, {
      handler,
      tasks: answers,
      logger: SILENT_LOGGER,
      config: plain,
      jobFiles: store,
      workDir: mkdtempSync(join(tmpdir(), "ferry-batch-")),
    });
    const first = logOf(store, "exec-1")!;
    expect(first).toMatch(/^# load attempt 1 \(lambda\): succeeded, \d+ ms\n--- stdout ---\n/);
    expect(first).toContain("exec-1 line 0\nexec-1 line 1\nexec-1 line 2\n--- stderr ---\n");
    expect(first).not.toContain("exec-2");
    const second = logOf(store, "exec-2")!;
    expect(second).toMatch(/^# load attempt 1 \(lambda\): failed, \d+ ms\n# Ferry.StepFailed: exec-2 broke/);
    expect(second).toContain("--- stderr ---\nabout to fail\n");
    expect(second).not.toContain("exec-1");
  });

  it("given two batches of a batched foreach in one execution, when processed, then each batch's log has its own key", async () => {
    const store = new MemoryJobFileStore();
    const batches = [[{ n: 0 }, { n: 1 }], [{ n: 2 }]];
    const records = batches.map((items, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify(
        stepMessage({ input: { input: {}, deps: {}, item: { Items: items, BatchInput: {} } } }),
      ),
      attributes: { ApproximateReceiveCount: "1" },
    }));
    const handler: StepHandler = (input) => {
      console.log("batch of %d", (input as { item: { Items: unknown[] } }).item.Items.length);
      return {};
    };
    await processSqsBatch({ Records: records }, context, {
      handler,
      tasks: new RecordingTaskClient(),
      logger: SILENT_LOGGER,
      config: plain,
      jobFiles: store,
      workDir: mkdtempSync(join(tmpdir(), "ferry-batch-")),
    });
    for (const items of batches) {
      const log = store.files.get(
        `job-bucket/hello/exec-1/cloud/.ferry/logs/load/batch-${batchId(items)}/1.log`,
      );
      expect(log?.toString()).toContain(`batch of ${items.length}\n`);
    }
    expect(logOf(store, "exec-1")).toBeUndefined();
  });

  it("given a handler that logs more than the cap, when processed, then the log keeps its head and tail, as on the edge", async () => {
    const store = new MemoryJobFileStore();
    const handler: StepHandler = () => {
      console.log("first line");
      for (let i = 0; i < 2000; i++) console.log("x".repeat(100));
      console.log("last line");
      return {};
    };
    await processSqsBatch(event(stepMessage()), context, {
      handler,
      tasks: new RecordingTaskClient(),
      logger: SILENT_LOGGER,
      config: { ...plain, logCapBytes: 4096 },
      jobFiles: store,
      workDir: mkdtempSync(join(tmpdir(), "ferry-batch-")),
    });
    const log = logOf(store, "exec-1")!;
    expect(log).toContain("first line");
    expect(log).toContain("last line");
    expect(log).toMatch(/bytes dropped: log cap is 4096 bytes/);
    expect(Buffer.byteLength(log)).toBeLessThan(4096 + 500);
  });
});
