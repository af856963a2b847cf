import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSpec } from "./compile.ts";
import { formatDiagnostic } from "./diagnostics/diagnostic.ts";

// Golden files: fixtures/<case>/spec.yaml → expected.asl.json (valid specs) or
// diagnostics.txt (invalid ones). Regenerate with UPDATE_GOLDEN=1 after a
// deliberate change, and review the diff.
const fixtures = join(import.meta.dirname, "..", "fixtures");
const update = process.env.UPDATE_GOLDEN === "1";
const validateAsl = createRequire(import.meta.url)("asl-validator") as (
  definition: unknown,
  options?: object,
) => { isValid: boolean; errorsText: (sep?: string) => string };

describe("golden fixtures", () => {
  for (const name of readdirSync(fixtures).sort()) {
    it(name, () => {
      const dir = join(fixtures, name);
      const text = readFileSync(join(dir, "spec.yaml"), "utf8");
      const { compiled, diagnostics } = compileSpec(text);
      const diagnosticsFile = join(dir, "diagnostics.txt");
      const aslFile = join(dir, "expected.asl.json");
      if (compiled) {
        const actual = `${JSON.stringify(compiled.stateMachine.definition, null, 2)}\n`;
        if (update || !existsSync(aslFile)) writeFileSync(aslFile, actual);
        expect(existsSync(diagnosticsFile), "a valid spec must not have diagnostics.txt").toBe(false);
        expect(actual).toBe(readFileSync(aslFile, "utf8"));
        const check = validateAsl(compiled.stateMachine.definition, { checkArn: true, checkPaths: true });
        expect(check.isValid, check.errorsText("\n")).toBe(true);
      } else {
        const actual = `${diagnostics.map((d) => formatDiagnostic("spec.yaml", d)).join("\n")}\n`;
        if (update || !existsSync(diagnosticsFile)) writeFileSync(diagnosticsFile, actual);
        expect(existsSync(aslFile), "an invalid spec must not have expected.asl.json").toBe(false);
        expect(actual).toBe(readFileSync(diagnosticsFile, "utf8"));
      }
    });
  }
});
