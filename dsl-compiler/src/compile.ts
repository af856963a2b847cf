import { generateAsl } from "./asl/generate-asl.ts";
import type { CompiledWorkflow } from "./compiled.ts";
import type { Diagnostic } from "./diagnostics/diagnostic.ts";
import { buildIr } from "./ir/build-ir.ts";
import { buildManifest } from "./manifest/manifest.ts";
import { type ValidateOptions, validateSpec } from "./validate.ts";

export interface CompileResult {
  diagnostics: Diagnostic[];
  /** Present only when the spec has no errors. */
  compiled?: CompiledWorkflow;
}

/** spec text → validated spec → IR → ASL + manifest. Pure; never throws on user input. */
export function compileSpec(text: string, options: ValidateOptions = {}): CompileResult {
  const { spec, diagnostics } = validateSpec(text, options);
  if (!spec) return { diagnostics };
  const ir = buildIr(spec);
  const { stateMachine, childStateMachines, substitutions } = generateAsl(ir);
  return {
    diagnostics,
    compiled: { ir, manifest: buildManifest(ir), stateMachine, childStateMachines, substitutions },
  };
}
