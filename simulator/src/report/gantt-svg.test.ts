import { describe, expect, it } from "vitest";
import type { AttemptTrace } from "../engine/run-result.ts";
import { simulate } from "../engine/simulate.ts";
import { modelForTest, specYaml, topologyYaml } from "../testing/fixtures.ts";
import { ganttHtml } from "./gantt-html.ts";
import { ganttSvg } from "./gantt-svg.ts";

const bar = (
  step: string,
  resource: string,
  start: number,
  end: number,
  outcome: AttemptTrace["outcome"] = "succeeded",
): AttemptTrace => ({
  step,
  item: 0,
  items: 1,
  attempt: 1,
  site: "edge",
  resource,
  startSeconds: start,
  computeStartSeconds: start,
  endSeconds: end,
  outcome,
});

describe("ganttSvg", () => {
  it("packs overlapping attempts of one device into separate lanes and labels each device once", () => {
    const svg = ganttSvg([
      bar("a", "pi-1", 0, 10),
      bar("b", "pi-1", 2, 5),
      bar("c", "pi-1", 6, 9),
      bar("d", "pi-2", 0, 4),
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<title>/g)).toHaveLength(4);
    expect(svg.match(/>edge · pi-1</g)).toHaveLength(1);
    // a takes lane 1; b and c share lane 2; d has its own device lane: three lanes in all.
    const ys = new Set(
      [...svg.matchAll(/<rect x="[\d.]+" y="(\d+)" width="[\d.]+" height="14"/g)].map((m) => m[1]),
    );
    expect(ys.size).toBe(3);
  });

  it("colours failed attempts and escapes names", () => {
    const svg = ganttSvg([bar("a<b>&", "pi-1", 0, 1, "device-failed")], { title: "x & y" });
    expect(svg).toContain("#e15759");
    expect(svg).toContain("a&lt;b&gt;&amp;");
    expect(svg).toContain("x &amp; y");
    expect(svg).not.toContain("a<b>");
  });

  it("draws start-up (cold start, input transfer) as a pale head", () => {
    const svg = ganttSvg([{ ...bar("a", "lambda", 0, 2), computeStartSeconds: 0.5 }]);
    expect(svg).toContain('opacity="0.35"');
    expect(svg).toContain("start-up 0.50 s");
  });
});

describe("ganttHtml", () => {
  it("wraps the report and the median run's chart in one page", () => {
    const model = modelForTest(
      specYaml([
        { name: "a", durationSeconds: 3 },
        { name: "b", depends: ["a"], durationSeconds: 2 },
      ]),
      topologyYaml(),
    );
    const html = ganttHtml(simulate(model, { runs: 3, trace: true, topologyName: "lab" }));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<title>Ferry simulation — test on lab</title>");
    expect(html).toContain("makespan       p50 5.00 s");
    expect(html.match(/<g><title>/g)).toHaveLength(2);
  });
});
