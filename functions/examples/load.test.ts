import { describe, expect, it } from "vitest";
import { runFunctionStep } from "../src/step-adapter.ts";
import { stepMessage } from "../src/testing.ts";
import { handler } from "./load.ts";

describe("examples/load", () => {
  it("given deps reporting rows, when loaded, then the rows are totalled", async () => {
    const input = { input: {}, deps: { a: { rows: 2 }, b: { rows: 5 }, c: { note: "no rows" } } };
    expect(await runFunctionStep(handler, stepMessage({ input }))).toEqual({
      ok: true,
      output: { rows: 7, from: ["a", "b", "c"] },
    });
  });

  it("given a dep that echoed its own input, when loaded, then rows are found through its deps", async () => {
    const input = { input: {}, deps: { transform: { input: {}, deps: { extract: { rows: 3 } } } } };
    expect(await runFunctionStep(handler, stepMessage({ input }))).toEqual({
      ok: true,
      output: { rows: 3, from: ["transform"] },
    });
  });
});
