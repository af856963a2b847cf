import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./manifest.ts";

/** The definition: sorted entries, undefined members dropped, undefined array slots as null. */
function reference(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : reference(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(",")}}`;
}

describe("canonicalJson", () => {
  it("matches the sorted-entries definition on any JSON-like value", () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom(null, undefined, true, false, 0, -1.5, "", "10", 'é\n"', 1e21),
        fc.string(),
        fc.double(),
        fc.array(tie("node")),
        fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("9", "10", "a", "B", "__proto__x")), tie("node")),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => canonicalJson(v) === reference(v)),
      { numRuns: 500 },
    );
  });

  it("orders integer-like keys as strings, not as the engine enumerates them", () => {
    expect(canonicalJson({ 9: 1, 10: 2, b: [undefined, 1], a: undefined })).toBe(
      '{"10":2,"9":1,"b":[null,1]}',
    );
  });
});
