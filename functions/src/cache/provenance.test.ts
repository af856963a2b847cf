import { canonicalJson, type StepMessage, sha256 } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { type AttemptFacts, provenanceRecord } from "./provenance.ts";

const identity = { device: "dev", agent: "test" };

function factsFor(deps: Record<string, unknown>, item: unknown, index: number): AttemptFacts {
  const input = { input: { run: 1 }, deps, item };
  const message = {
    v: 1,
    token: "t",
    workflow: "w",
    execution: "e",
    step: "each",
    attempt: 1,
    index,
    input,
    jobFiles: { bucket: "b", prefix: "w/e/" },
  } as StepMessage;
  return {
    message,
    step: { name: "each", site: "lab", hash: "h" },
    runtime: "function",
    runs: {},
    input,
    inputFiles: {},
    outputFiles: [],
    output: { ok: index },
    cache: { status: "off" },
    outcome: "succeeded",
    exitCode: 0,
    startedAt: new Date(0),
    finishedAt: new Date(1),
  };
}

describe("provenanceRecord", () => {
  it("Given foreach items sharing a large dependency output, then every record digests it canonically", () => {
    // Over the size whose canonical text is kept between records; keys out of order.
    const big = { z: Array.from({ length: 400 }, (_, i) => i), a: "x" };
    const records = [0, 1, 2].map((i) =>
      provenanceRecord(factsFor({ make: structuredClone(big) }, { n: i }, i), identity),
    );
    for (const [i, record] of records.entries()) {
      expect(record.deps.make!.outputDigest).toBe(sha256(canonicalJson(big)));
      expect(record.inputDigest).toBe(
        sha256(canonicalJson({ input: { run: 1 }, deps: { make: big }, item: { n: i } })),
      );
      expect(record.outputDigest).toBe(sha256(canonicalJson({ ok: i })));
    }
  });

  it("Given dependency outputs of the same size but other values, then their digests differ", () => {
    const a = provenanceRecord(factsFor({ make: { list: Array(700).fill(1) } }, 0, 0), identity);
    const b = provenanceRecord(factsFor({ make: { list: Array(700).fill(2) } }, 0, 0), identity);
    expect(a.deps.make!.outputDigest).not.toBe(b.deps.make!.outputDigest);
  });
});
