import { generateAsl } from "./asl/generate-asl.ts";
import type { CompiledWorkflow } from "./compiled.ts";
import type { Diagnostic } from "./diagnostics/diagnostic.ts";
import { buildIr } from "./ir/build-ir.ts";
import { buildManifest } from "./manifest/manifest.ts";
import { validateSpec } from "./validate.ts";

export interface CompileResult {
  diagnostics: Diagnostic[];
  /** Present only when the spec has no errors. */
  compiled?: CompiledWorkflow;
}

/** spec text → validated spec → IR → ASL + manifest. Pure; never throws on user input. */
export function compileSpec(text: string): CompileResult {
  const { spec, diagnostics } = validateSpec(text);
  if (!spec) return { diagnostics };
  const ir = buildIr(spec);
  const { stateMachine, childStateMachines, substitutions } = generateAsl(ir);
  return {
    diagnostics,
    compiled: { ir, manifest: buildManifest(ir), stateMachine, childStateMachines, substitutions },
  };
}
