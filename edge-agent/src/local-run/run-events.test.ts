import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cappedValue,
  EVENT_VALUE_CAP_BYTES,
  RUN_EVENTS_FILE,
  RunEventLog,
  readRunEvents,
} from "./run-events.ts";

describe("run events", () => {
  it("Given appended events, When read from an offset, Then only the new ones come back, in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-events-"));
    const log = new RunEventLog(dir, (error) => {
      throw error;
    });
    log.append({ type: "input", at: "t1", step: "a", value: 1 });
    log.append({ type: "output", at: "t2", step: "a", value: 2 });
    await log.flush();
    const first = await readRunEvents(dir);
    expect(first.events.map((e) => e.at)).toEqual(["t1", "t2"]);
    log.append({ type: "run", at: "t3", status: "SUCCEEDED" });
    await log.flush();
    const next = await readRunEvents(dir, first.nextOffset);
    expect(next.events).toEqual([{ type: "run", at: "t3", status: "SUCCEEDED" }]);
  });

  it("Given a line still being written or garbled, Then it is left for later or skipped, never thrown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-events-"));
    appendFileSync(
      join(dir, RUN_EVENTS_FILE),
      'not json\n{"type":"run","at":"t","status":"FAILED"}\n{"type":',
    );
    const read = await readRunEvents(dir);
    expect(read.events).toEqual([{ type: "run", at: "t", status: "FAILED" }]);
    appendFileSync(join(dir, RUN_EVENTS_FILE), '"run","at":"u","status":"FAILED"}\n');
    expect((await readRunEvents(dir, read.nextOffset)).events.map((e) => e.at)).toEqual(["u"]);
    expect(await readRunEvents(join(dir, "none"))).toEqual({ events: [], nextOffset: 0 });
  });

  it("Given a value past the cap, Then events record its size instead", () => {
    expect(cappedValue({ a: 1 })).toEqual({ a: 1 });
    expect(cappedValue("x".repeat(EVENT_VALUE_CAP_BYTES + 1))).toMatchObject({ truncated: true });
  });

  it("Given input and output values, When appended as values, Then each line is the event JSON.stringify writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-events-"));
    const log = new RunEventLog(dir, (error) => {
      throw error;
    });
    const values = [{ a: [1, 'é\n"'] }, "x".repeat(EVENT_VALUE_CAP_BYTES + 1), null, undefined, 3];
    for (const value of values) log.appendValue("input", "t", 'st"ep', value);
    await log.flush();
    const lines = readFileSync(join(dir, RUN_EVENTS_FILE), "utf8").trimEnd().split("\n");
    expect(lines).toEqual(
      values.map((value) =>
        JSON.stringify({ type: "input", at: "t", step: 'st"ep', value: cappedValue(value) }),
      ),
    );
  });
});
