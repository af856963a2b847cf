import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { describeWatch, type TriggerFiring, watchTriggers } from "./watch-triggers.ts";

function irOf(triggers: string) {
  const { compiled, diagnostics } = compileSpec(`
version: "1.1"
name: watched
sites: { lab: { type: edge } }
steps: [{ name: a, site: lab, process: { command: [cat] } }]
triggers:
${triggers}
`);
  if (!compiled) throw new Error(JSON.stringify(diagnostics));
  return compiled.ir;
}

const FILES = `  - { name: uploads, s3: { prefix: in/, suffix: .csv }, input: { key: "$.detail.object.key", size: "$.detail.object.size" } }
  - { name: all, s3: { bucket: partner, prefix: in/ } }`;

describe("watchTriggers", () => {
  it("fires the matching file triggers once per new file, after it holds still, never for files already there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-watch-"));
    mkdirSync(join(dir, "in"));
    writeFileSync(join(dir, "in", "old.csv"), "old");
    const fired: TriggerFiring[] = [];
    const controller = new AbortController();
    let ready = () => {};
    const started = new Promise<void>((r) => (ready = r));
    const watching = watchTriggers({
      ir: irOf(FILES),
      watchDir: dir,
      pollMs: 20,
      signal: controller.signal,
      log: () => {},
      onReady: () => ready(),
      run: async (f) => {
        fired.push(f);
      },
    });
    await started;
    writeFileSync(join(dir, "in", "new.csv"), "a,b\n");
    writeFileSync(join(dir, "in", "notes.txt"), "x");
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "other.csv"), "x");
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    expect(await watching).toBe(3);
    const byTrigger = fired.map((f) => `${f.trigger.name} ${f.what}`).sort();
    expect(byTrigger).toEqual(["all in/new.csv", "all in/notes.txt", "uploads in/new.csv"]);
    expect(fired.find((f) => f.trigger.name === "uploads")!.input).toEqual({ key: "in/new.csv", size: 4 });
    // Without input: the whole event, in S3's EventBridge shape.
    expect(fired.find((f) => f.trigger.name === "all")!.input).toMatchObject({
      source: "aws.s3",
      "detail-type": "Object Created",
      detail: { bucket: { name: "partner" }, object: { key: expect.stringMatching(/^in\//) } },
    });
  });

  it("fires a rate schedule every period from the start, one run at a time, and stops after maxRuns", async () => {
    // Each reading of the clock moves it 20 s on; the first (the start of the watch) reads midnight.
    let clock = Date.parse("2025-12-31T23:59:40Z");
    const fired: TriggerFiring[] = [];
    const runs = await watchTriggers({
      ir: irOf('  - { name: tick, schedule: "rate(1 minute)", input: { at: "$.time", kind: tick } }'),
      pollMs: 1,
      maxRuns: 3,
      signal: new AbortController().signal,
      log: () => {},
      now: () => {
        clock += 20_000;
        return clock;
      },
      run: async (f) => {
        fired.push(f);
      },
    });
    expect(runs).toBe(3);
    expect(fired.map((f) => f.input)).toEqual([
      { at: "2026-01-01T00:01:00Z", kind: "tick" },
      { at: "2026-01-01T00:02:00Z", kind: "tick" },
      { at: "2026-01-01T00:03:00Z", kind: "tick" },
    ]);
  });

  it("drops firings beyond maxQueued with a warning", async () => {
    let clock = Date.parse("2026-01-01T00:00:00Z");
    const log: string[] = [];
    let release = () => {};
    const controller = new AbortController();
    const watching = watchTriggers({
      ir: irOf('  - { name: tick, schedule: "rate(1 minute)" }'),
      pollMs: 1,
      maxQueued: 2,
      signal: controller.signal,
      log: (line) => log.push(line),
      now: () => {
        clock += 60_000;
        return clock;
      },
      run: () => new Promise<void>((r) => (release = r)),
    });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    release();
    expect(await watching).toBe(1);
    expect(log.some((l) => /tick: .* dropped, 2 firings already wait/.test(l))).toBe(true);
  });

  it("says what it watches, and what it cannot fire", () => {
    const ir = irOf(`${FILES}
  - { name: tick, schedule: "cron(0 12 * * ? *)" }
  - { name: ev, event: { source: [x] } }
  - { name: off, schedule: "rate(1 day)", enabled: false }`);
    expect(describeWatch(ir, undefined, new Date("2026-01-01T00:00:00Z"))).toEqual([
      "trigger uploads: s3 trigger not watched (give --watch-dir DIR to fire it on files dropped there)",
      "trigger all: s3 trigger not watched (give --watch-dir DIR to fire it on files dropped there)",
      "trigger tick: cron(0 12 * * ? *), next at 2026-01-01T12:00:00.000Z",
      "trigger ev: EventBridge event pattern, fired only when deployed",
      "trigger off: disabled, not fired",
    ]);
    expect(describeWatch(ir, "drop")[0]).toBe("trigger uploads: new files under drop matching in/*.csv");
  });
});
