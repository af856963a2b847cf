import { buildIr, validateSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { specYaml } from "../testing/fixtures.ts";
import { measureDispatchGaps, type StepSpan } from "./dispatch-gap.ts";

const T0 = Date.UTC(2025, 0, 1);
const span = (startS: number, endS: number): StepSpan => ({
  site: "edge",
  startMs: T0 + startS * 1000,
  endMs: T0 + endS * 1000,
});

describe("measureDispatchGaps", () => {
  it("Given a chain, Then every step's start delay after its dependency counts", () => {
    const ir = buildIr(
      validateSpec(specYaml([{ name: "a" }, { name: "b", depends: ["a"] }, { name: "c", depends: ["b"] }]))
        .spec!,
    );
    const spans = new Map([
      ["a", span(0.1, 1)],
      ["b", span(1.02, 2)],
      ["c", span(2.04, 3)],
    ]);
    const gaps = measureDispatchGaps(ir, spans, T0);
    expect(gaps?.samples).toBe(3);
    expect(gaps?.medianSeconds).toBeCloseTo(0.04, 9);
    expect(gaps?.meanSeconds).toBeCloseTo((0.1 + 0.02 + 0.04) / 3, 9);
  });

  it("Given steps that queued for the site's two slots, Then only the ones that did not queue count", () => {
    // root fans out to w1..w3; two ran at once, so w3 waited for w1's slot.
    const ir = buildIr(
      validateSpec(
        specYaml([
          { name: "root" },
          { name: "w1", depends: ["root"] },
          { name: "w2", depends: ["root"] },
          { name: "w3", depends: ["root"] },
        ]),
      ).spec!,
    );
    const spans = new Map([
      ["root", span(0, 1)],
      ["w1", span(1.01, 3)],
      ["w2", span(1.01, 4)],
      ["w3", span(3.001, 5)],
    ]);
    const gaps = measureDispatchGaps(ir, spans);
    // Without the run's start the root gives no gap; w3's 2 s wait is the queue's, not the dispatch's.
    expect(gaps?.samples).toBe(2);
    expect(gaps?.medianSeconds).toBeCloseTo(0.01, 9);
  });

  it("Given no step with a known ready time, Then there is no figure", () => {
    const ir = buildIr(validateSpec(specYaml([{ name: "a" }])).spec!);
    expect(measureDispatchGaps(ir, new Map([["a", span(0, 1)]]))).toBeUndefined();
  });
});
