import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import { applyInputTemplate, inputTransformer, readEventPath } from "./event-input.ts";
import { keyMatches, objectCreatedEvent, s3EventPattern, scheduledEvent } from "./events.ts";
import { nextFire, parseSchedule, ScheduleError } from "./schedule.ts";

const at = (iso: string) => new Date(iso);
const next = (expression: string, after: string) =>
  nextFire(parseSchedule(expression), at(after))?.toISOString();

describe("schedule expressions", () => {
  it("reads rates in minutes, hours and days, singular for 1 and plural above", () => {
    expect(parseSchedule("rate(1 minute)")).toMatchObject({ kind: "rate", seconds: 60 });
    expect(parseSchedule("rate(5 minutes)")).toMatchObject({ kind: "rate", seconds: 300 });
    expect(parseSchedule("rate(2 hours)")).toMatchObject({ kind: "rate", seconds: 7200 });
    expect(parseSchedule("rate(1 day)")).toMatchObject({ kind: "rate", seconds: 86_400 });
    for (const bad of ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 weeks)", "rate(5)"])
      expect(() => parseSchedule(bad), bad).toThrow(ScheduleError);
  });

  it("reads six-field cron expressions with exactly one ? among the day fields", () => {
    for (const ok of [
      "cron(0 12 * * ? *)",
      "cron(0/15 * ? * MON-FRI *)",
      "cron(0 8 L * ? *)",
      "cron(0 9 ? * 6#3 *)",
      "cron(30 6 15W JAN,JUL ? 2030-2040)",
      "cron(0 18 ? * 6L *)",
    ])
      expect(parseSchedule(ok).kind, ok).toBe("cron");
    for (const bad of [
      "cron(0 12 * * * *)",
      "cron(0 12 ? * ? *)",
      "cron(0 12 * * ?)",
      "cron(60 12 * * ? *)",
      "cron(0 12 32 * ? *)",
      "cron(0 12 ? * 8 *)",
      "cron(0 12 * 13 ? *)",
      "cron(0 12 * * ? 1969)",
      "cron(0 5-2 * * ? *)",
    ])
      expect(() => parseSchedule(bad), bad).toThrow(ScheduleError);
  });

  it("fires a rate one period after it starts, then every period", () => {
    const s = parseSchedule("rate(5 minutes)");
    const start = at("2026-01-01T00:00:00Z");
    expect(nextFire(s, start, start)?.toISOString()).toBe("2026-01-01T00:05:00.000Z");
    expect(nextFire(s, at("2026-01-01T00:07:00Z"), start)?.toISOString()).toBe("2026-01-01T00:10:00.000Z");
  });

  it("fires cron expressions when EventBridge would (UTC, 1 = SUN)", () => {
    expect(next("cron(0 12 * * ? *)", "2026-03-04T12:00:00Z")).toBe("2026-03-05T12:00:00.000Z");
    expect(next("cron(0 12 * * ? *)", "2026-03-04T11:59:30Z")).toBe("2026-03-04T12:00:00.000Z");
    expect(next("cron(0/15 * * * ? *)", "2026-03-04T10:07:00Z")).toBe("2026-03-04T10:15:00.000Z");
    // 2026-03-07 is a Saturday: MON-FRI skips to Monday the 9th.
    expect(next("cron(0 9 ? * MON-FRI *)", "2026-03-06T10:00:00Z")).toBe("2026-03-09T09:00:00.000Z");
    expect(next("cron(0 9 ? * 1 *)", "2026-03-04T00:00:00Z")).toBe("2026-03-08T09:00:00.000Z");
    expect(next("cron(0 8 L * ? *)", "2026-02-03T00:00:00Z")).toBe("2026-02-28T08:00:00.000Z");
    // The third Friday of March 2026 is the 20th; the last Friday the 27th.
    expect(next("cron(0 9 ? * 6#3 *)", "2026-03-01T00:00:00Z")).toBe("2026-03-20T09:00:00.000Z");
    expect(next("cron(0 9 ? * 6L *)", "2026-03-01T00:00:00Z")).toBe("2026-03-27T09:00:00.000Z");
    // 2026-03-15 is a Sunday: the nearest weekday is Monday the 16th.
    expect(next("cron(0 9 15W * ? *)", "2026-03-01T00:00:00Z")).toBe("2026-03-16T09:00:00.000Z");
    expect(next("cron(0 0 1 1 ? 2027)", "2026-03-01T00:00:00Z")).toBe("2027-01-01T00:00:00.000Z");
    expect(next("cron(0 0 1 1 ? 2025)", "2026-03-01T00:00:00Z")).toBeUndefined();
  });
});

describe("input templates", () => {
  const event = objectCreatedEvent("drop", { key: "in/a.csv", size: 12 });

  it("fills paths from the event and keeps literals; a missing path gives null", () => {
    expect(
      applyInputTemplate({ key: "$.detail.object.key", n: "$.detail.object.size", tag: "csv", k: 1 }, event),
    ).toEqual({ key: "in/a.csv", n: 12, tag: "csv", k: 1 });
    expect(readEventPath(event, "$.resources[0]")).toBe("arn:aws:s3:::drop");
    expect(readEventPath(event, "$.detail.nope.deeper")).toBeNull();
    expect(applyInputTemplate(undefined, event)).toBe(event);
    expect(applyInputTemplate("$", event)).toBe(event);
  });

  it("becomes an input transformer with one unquoted placeholder per distinct path", () => {
    expect(
      inputTransformer({ key: "$.detail.object.key", again: "$.detail.object.key", all: ["$.detail", "x"] }),
    ).toEqual({
      inputPathsMap: { p0: "$.detail.object.key", p1: "$.detail" },
      inputTemplate: '{"key":<p0>,"again":<p0>,"all":[<p1>,"x"]}',
    });
    expect(inputTransformer("$.detail")).toEqual({
      inputPathsMap: { p0: "$.detail" },
      inputTemplate: "<p0>",
    });
  });
});

describe("s3 and schedule events", () => {
  it("matches keys by prefix and suffix, both through a wildcard", () => {
    expect(s3EventPattern("b", "in/", ".csv")).toEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: { bucket: { name: ["b"] }, object: { key: [{ wildcard: "in/*.csv" }] } },
    });
    expect(s3EventPattern("b", "a*b")).toMatchObject({ detail: { object: { key: [{ prefix: "a*b" }] } } });
    expect(s3EventPattern("b", "a*", "\\z")).toMatchObject({
      detail: { object: { key: [{ wildcard: "a\\**\\\\z" }] } },
    });
    expect(s3EventPattern("b")).toEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: { bucket: { name: ["b"] } },
    });
    expect(keyMatches("in/a.csv", "in/", ".csv")).toBe(true);
    expect(keyMatches("in/a.txt", "in/", ".csv")).toBe(false);
    expect(keyMatches("ab", "ab", "b")).toBe(false);
  });

  it("builds scheduled events in EventBridge's shape", () => {
    expect(scheduledEvent("nightly", { time: at("2026-03-04T12:00:00.250Z") })).toMatchObject({
      "detail-type": "Scheduled Event",
      source: "aws.events",
      time: "2026-03-04T12:00:00Z",
      resources: ["arn:aws:events:local:000000000000:rule/nightly"],
      detail: {},
    });
  });
});

describe("triggers in the IR", () => {
  it("names triggers, keeps their source and input, and leaves them out when there are none", () => {
    const { compiled } = compileSpec(`
version: "1.1"
name: ingest
sites: { lab: { type: edge } }
steps: [{ name: load, site: lab, process: { command: [cat] } }]
triggers:
  - schedule: "rate(1 hour)"
  - { name: uploads, s3: { prefix: in/ }, input: { key: "$.detail.object.key" }, enabled: false }
`);
    expect(compiled!.ir.triggers).toEqual([
      {
        name: "schedule-1",
        specIndex: 0,
        enabled: true,
        source: { kind: "schedule", expression: "rate(1 hour)" },
      },
      {
        name: "uploads",
        specIndex: 1,
        enabled: false,
        source: { kind: "s3", prefix: "in/" },
        input: { key: "$.detail.object.key" },
      },
    ]);
    const plain = compileSpec(
      "name: p\nsites: { lab: { type: edge } }\nsteps: [{ name: a, site: lab, process: { command: [cat] } }]\n",
    );
    expect(plain.compiled!.ir).not.toHaveProperty("triggers");
  });
});
