import { describe, expect, it } from "vitest";
import { compileSpec } from "./compile.ts";
import { validateWorkflowInput } from "./validate-input.ts";

const spec = (input: unknown) =>
  JSON.stringify({
    version: "1.1",
    name: "typed",
    sites: { lab: { type: "edge" } },
    input,
    steps: [{ name: "a", site: "lab", process: { command: ["true"] } }],
  });

describe("validateWorkflowInput", () => {
  const { compiled } = compileSpec(
    spec({
      type: "object",
      required: ["date", "sessions"],
      additionalProperties: false,
      properties: {
        date: { type: "string", format: "date" },
        sessions: { type: "array", items: { type: "integer", minimum: 1 } },
      },
    }),
  );
  const ir = compiled!.ir;

  it("accepts an input that matches the workflow's input schema", () => {
    expect(validateWorkflowInput(ir, { date: "2026-12-02", sessions: [1, 2] })).toEqual([]);
  });

  it("names the place in the input of every problem", () => {
    const diagnostics = validateWorkflowInput(ir, { date: "yesterday", sessions: [1, 0], extra: true });
    expect(diagnostics.map((d) => [d.code, d.path.join(".")])).toEqual([
      ["INVALID_INPUT", "input.extra"],
      ["INVALID_INPUT", "input.date"],
      ["INVALID_INPUT", "input.sessions.1"],
    ]);
    expect(diagnostics[1]!.message).toContain('must match format "date"');
  });

  it("reports a missing required field at its path", () => {
    expect(validateWorkflowInput(ir, { date: "2026-12-02" })).toMatchObject([
      { path: ["input", "sessions"], message: "is required by the workflow's input schema" },
    ]);
  });

  it("accepts anything when the workflow declares no input schema", () => {
    const { compiled: plain } = compileSpec(spec(undefined));
    expect(validateWorkflowInput(plain!.ir, "anything")).toEqual([]);
  });

  it("caps the number of problems a hostile input can produce", () => {
    const { compiled: list } = compileSpec(spec({ type: "array", items: { type: "string" } }));
    const diagnostics = validateWorkflowInput(
      list!.ir,
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    expect(diagnostics).toHaveLength(20);
  });

  it("refuses a schema that ajv cannot compile when the spec is validated", () => {
    const { diagnostics } = compileSpec(spec({ type: "object", properties: { a: { type: "nope" } } }));
    expect(diagnostics.map((d) => d.code)).toEqual(["INVALID_INPUT_SCHEMA"]);
  });
});
