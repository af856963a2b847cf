import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { workflowJsonSchema } from "./json-schema.ts";

const committed = join(import.meta.dirname, "..", "..", "schema", "workflow.schema.json");

describe("JSON Schema", () => {
  it("the committed copy is generated from the zod schema (UPDATE_GOLDEN=1 rewrites it)", () => {
    const generated = `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(committed, generated);
    expect(readFileSync(committed, "utf8")).toBe(generated);
  });

  it("rejects unknown fields, as the compiler does", () => {
    const schema = workflowJsonSchema() as { additionalProperties?: boolean; required?: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(["name", "sites", "steps"]));
  });
});
