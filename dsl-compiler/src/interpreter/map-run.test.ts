import { describe, expect, it } from "vitest";
import type { ForeachResultEntry } from "../contract/foreach-results.ts";
import { EXCEED_TOLERATED_FAILURE, type MapRunOptions, runMapRun } from "./map-run.ts";

function sink() {
  const entries: ForeachResultEntry[] = [];
  return {
    entries,
    sink: {
      write: async (e: ForeachResultEntry) => {
        entries.push(e);
      },
      close: async () => ({ Bucket: "b", Key: "wf/lab/run/.ferry/foreach/s/id/manifest.json" }),
    },
  };
}

/** Items 0..n-1, counting how many were pulled. */
function counted(n: number) {
  const state = { pulled: 0 };
  async function* items() {
    for (let i = 0; i < n; i++) {
      state.pulled++;
      yield { n: i };
    }
  }
  return { state, items: items() };
}

const base = (over: Partial<MapRunOptions>): MapRunOptions => ({
  items: counted(0).items,
  maxConcurrency: 0,
  toleratedFailurePercentage: 0,
  childInput: (item, index) => ({ item, index }),
  runItem: async (input) => input.item,
  sink: sink().sink,
  mapRunArn: "local:run:map-run:1",
  ...over,
});

describe("runMapRun", () => {
  it("Given items, when all succeed, then each result is written once with its index and input", async () => {
    const out = sink();
    const summary = await runMapRun(base({ items: counted(5).items, sink: out.sink }));
    expect(summary).toMatchObject({ itemCount: 5, failedCount: 0 });
    expect(out.entries.map((e) => Number(e.Name)).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(out.entries.find((e) => e.Name === "3")!.Input)).toEqual({ item: { n: 3 }, index: 3 });
    expect(JSON.parse(out.entries.find((e) => e.Name === "3")!.Output!)).toEqual({ n: 3 });
  });

  it("Given MaxConcurrency 3, when items run, then at most 3 run and at most 3 are pulled ahead", async () => {
    const source = counted(50);
    let running = 0;
    let peak = 0;
    let aheadPeak = 0;
    let finished = 0;
    await runMapRun(
      base({
        items: source.items,
        maxConcurrency: 3,
        runItem: async () => {
          running++;
          peak = Math.max(peak, running);
          aheadPeak = Math.max(aheadPeak, source.state.pulled - finished);
          await new Promise((r) => setTimeout(r, 1));
          running--;
          finished++;
          return {};
        },
      }),
    );
    expect(peak).toBe(3);
    expect(aheadPeak).toBeLessThanOrEqual(3);
  });

  it("Given 10% tolerated, when 5% fail, then it succeeds and reports the failed indexes", async () => {
    const out = sink();
    const summary = await runMapRun(
      base({
        items: counted(100).items,
        toleratedFailurePercentage: 10,
        sink: out.sink,
        runItem: async (input) => {
          if ((input.index as number) % 20 === 0)
            throw Object.assign(new Error("no"), { name: "Ferry.ExitCode" });
          return {};
        },
      }),
    );
    expect(summary.failedCount).toBe(5);
    expect(summary.failedIndexes.sort((a, b) => a - b)).toEqual([0, 20, 40, 60, 80]);
    const failed = out.entries.filter((e) => e.Status === "FAILED");
    expect(failed.map((e) => [e.Error, e.Cause])).toEqual(Array(5).fill(["Ferry.ExitCode", "no"]));
  });

  it("Given 10% tolerated, when 20% fail, then it fails with States.ExceedToleratedFailureThreshold after writing every result", async () => {
    const out = sink();
    const run = runMapRun(
      base({
        items: counted(50).items,
        toleratedFailurePercentage: 10,
        sink: out.sink,
        runItem: async (input) => {
          if ((input.index as number) % 5 === 0) throw new Error("no");
          return {};
        },
      }),
    );
    await expect(run).rejects.toMatchObject({
      name: EXCEED_TOLERATED_FAILURE,
      message: expect.stringMatching(/^10 of 50 items failed \(20\.00%, tolerated 10%\): items 0, 5, 10/),
    });
    expect(out.entries).toHaveLength(50);
  });

  it("Given nothing tolerated, when one item fails, then no further item is pulled", async () => {
    const source = counted(1000);
    await expect(
      runMapRun(
        base({
          items: source.items,
          maxConcurrency: 2,
          runItem: async (input) => {
            if (input.index === 3) throw new Error("no");
            return {};
          },
        }),
      ),
    ).rejects.toMatchObject({ name: EXCEED_TOLERATED_FAILURE });
    expect(source.state.pulled).toBeLessThan(10);
  });

  it("Given a reader that breaks, when it throws, then the run fails with the reader's error", async () => {
    async function* broken() {
      yield 1;
      throw Object.assign(new Error("bad record"), { name: "States.ItemReaderFailed" });
    }
    await expect(runMapRun(base({ items: broken() }))).rejects.toMatchObject({
      name: "States.ItemReaderFailed",
    });
  });

  it("Given no items, when it runs, then it succeeds with an empty result", async () => {
    await expect(runMapRun(base({}))).resolves.toMatchObject({ itemCount: 0, failedCount: 0 });
  });

  describe("batched (ItemBatcher)", () => {
    const batchedBase = (over: Partial<MapRunOptions>) =>
      base({ childInput: (batch) => batch as Record<string, unknown>, ...over });

    it("Given maxItems 4 over 10 items, then children get { Items, BatchInput } of 4, 4 and 2 in order", async () => {
      const out = sink();
      const summary = await runMapRun(
        batchedBase({
          items: counted(10).items,
          batch: { maxItems: 4, batchInput: { table: "t" } },
          runItem: async (input) => ({ got: (input.Items as unknown[]).length }),
          sink: out.sink,
        }),
      );
      expect(summary).toMatchObject({ itemCount: 10, failedCount: 0 });
      const inputs = out.entries
        .sort((a, b) => Number(a.Name) - Number(b.Name))
        .map((e) => JSON.parse(e.Input));
      expect(inputs.map((b) => b.Items.map((i: { n: number }) => i.n))).toEqual([
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ]);
      expect(inputs.every((b) => b.BatchInput.table === "t")).toBe(true);
    });

    it("Given maxBytes, then no batch's JSON passes it and every item is in exactly one batch", async () => {
      const out = sink();
      async function* sized() {
        for (let i = 0; i < 40; i++) yield { n: i, pad: "x".repeat((i * 7) % 50) };
      }
      await runMapRun(
        batchedBase({ items: sized(), batch: { maxBytes: 300, batchInput: {} }, sink: out.sink }),
      );
      const batches = out.entries.map((e) => JSON.parse(e.Input) as { Items: Array<{ n: number }> });
      for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(300);
      expect(batches.length).toBeGreaterThan(1);
      expect(batches.flatMap((b) => b.Items.map((i) => i.n)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
    });

    it("Given a failed batch, then all its items count as failed against the tolerance, and the batch index is named", async () => {
      const out = sink();
      const run = runMapRun(
        batchedBase({
          items: counted(10).items,
          batch: { maxItems: 5, batchInput: {} },
          toleratedFailurePercentage: 40,
          runItem: async (input) => {
            if ((input.Items as Array<{ n: number }>)[0]!.n === 5)
              throw Object.assign(new Error("bad batch"), { name: "Boom" });
            return {};
          },
          sink: out.sink,
        }),
      );
      await expect(run).rejects.toMatchObject({
        name: EXCEED_TOLERATED_FAILURE,
        message: expect.stringMatching(/^5 of 10 items failed \(50\.00%, tolerated 40%\): batches 1;/),
      });
      expect(out.entries.find((e) => e.Status === "FAILED")).toMatchObject({ Name: "1", Error: "Boom" });
    });

    it("Given an item larger than maxBytes on its own, then the map run fails with States.ItemReaderFailed naming it", async () => {
      async function* items() {
        yield { n: 0 };
        yield { n: 1, pad: "x".repeat(500) };
      }
      await expect(
        runMapRun(batchedBase({ items: items(), batch: { maxBytes: 200, batchInput: {} } })),
      ).rejects.toMatchObject({
        name: "States.ItemReaderFailed",
        message: expect.stringContaining("item 1 is"),
      });
    });
  });
});
