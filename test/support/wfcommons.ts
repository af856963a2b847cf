import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CompiledWorkflow, compileSpec } from "@ferry/dsl-compiler";
import { importWfCommons, parseWfInstance } from "@ferry/simulator";

/** The WfCommons instances vendored in the repository (`test/data/wfcommons`). */
export const WFCOMMONS_DIR = join(import.meta.dirname, "..", "data", "wfcommons");

export interface CompiledInstance {
  name: string;
  compiled: CompiledWorkflow;
  /** Step name → recorded runtime in seconds. */
  durations: Map<string, number>;
}

/** Imports and compiles every instance; throws (failing the caller loudly) when the folder is missing. */
export function compileWfCommonsInstances(): CompiledInstance[] {
  if (!existsSync(WFCOMMONS_DIR))
    throw new Error(
      `WfCommons instances not found at ${WFCOMMONS_DIR}: the vendored instances under test/data/wfcommons are missing`,
    );
  return readdirSync(WFCOMMONS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => {
      const { instance, diagnostics } = parseWfInstance(readFileSync(join(WFCOMMONS_DIR, file), "utf8"));
      if (!instance) throw new Error(`${file}: ${JSON.stringify(diagnostics[0])}`);
      const imported = importWfCommons(instance, { sourceName: file });
      if (!imported.yaml) throw new Error(`${file}: ${JSON.stringify(imported.diagnostics[0])}`);
      const { compiled, diagnostics: errors } = compileSpec(imported.yaml);
      if (!compiled) throw new Error(`${file}: ${JSON.stringify(errors[0])}`);
      const durations = new Map(compiled.ir.steps.map((s) => [s.name, Number(s.hints.durationSeconds ?? 0)]));
      return { name: file.replace(/\.json$/, ""), compiled, durations };
    });
}
