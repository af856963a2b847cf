import { generateAsl } from "./asl/generate-asl.ts";
import { limitsFor, splitLimitProblem } from "./asl/split.ts";
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

export interface CompileOptions extends ValidateOptions {
  /**
   * Split the workflow into child state machines once one machine's
   * executions would record more than this many history events (a step
   * records 6). Lowers the default of 6,000; see `splitLimitProblem`.
   */
  splitLimit?: number;
}

/** spec text → validated spec → IR → ASL + manifest. Pure; never throws on user input. */
export function compileSpec(text: string, options: CompileOptions = {}): CompileResult {
  const problem = options.splitLimit === undefined ? undefined : splitLimitProblem(options.splitLimit);
  if (problem) {
    const message = `the split limit (compile option splitLimit, ferry --split-limit) ${problem}`;
    return {
      diagnostics: [{ code: "INVALID_OPTION", severity: "error", path: [], message, line: 1, col: 1 }],
    };
  }
  const { spec, diagnostics } = validateSpec(text, options);
  if (!spec) return { diagnostics };
  const ir = buildIr(spec);
  const { stateMachine, childStateMachines, substitutions } = generateAsl(ir, limitsFor(options.splitLimit));
  return {
    diagnostics,
    compiled: { ir, manifest: buildManifest(ir), stateMachine, childStateMachines, substitutions },
  };
}
