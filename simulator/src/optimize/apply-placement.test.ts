import { describe, expect, it } from "vitest";
import { applyPlacement, lineDiff } from "./apply-placement.ts";

const SPEC = `name: w # the workflow
steps:
  - { name: a, site: "lab", process: { command: [ "true" ] } } # quoted site
  - name: b
    site: lab   # spaced comment
    depends: [a]
`;

describe("applyPlacement", () => {
  it("Given moves of a flow and a block step, Then only their site values change", () => {
    const out = applyPlacement(SPEC, [
      { step: "a", to: "cloud" },
      { step: "b", to: "2024" },
    ]);
    expect(out).toBe(SPEC.replace('site: "lab"', "site: cloud").replace("site: lab   #", 'site: "2024"   #'));
  });

  it("Given a step the spec does not have, Then it refuses instead of writing a broken spec", () => {
    expect(() => applyPlacement(SPEC, [{ step: "zzz", to: "lab" }])).toThrow(/step "zzz" is not in the spec/);
  });

  it("Given no moves, Then the text is returned as it was", () => {
    expect(applyPlacement(SPEC, [])).toBe(SPEC);
  });
});

describe("lineDiff", () => {
  it("shows a changed line as removed then added, with a line of context", () => {
    expect(lineDiff("a\nb\nc\nd\n", "a\nB\nc\nd\n", { from: "x (before)", to: "x" })).toBe(
      "--- x (before)\n+++ x\n a\n-b\n+B\n c\n",
    );
    expect(lineDiff("same\n", "same\n", { from: "x", to: "x" })).toBe("");
  });
});
