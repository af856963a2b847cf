import {
  type CompiledWorkflow,
  type CompileOptions,
  type CompileResult,
  compileSpecFile,
  formatDiagnostic,
} from "@ferry/dsl-compiler";
import type { CliIo } from "../command.ts";

/** Compiles a spec for a command; prints its diagnostics and returns undefined when it has errors. */
export async function compileOrReport(
  file: string,
  io: CliIo,
  options: Pick<CompileOptions, "splitLimit"> = {},
): Promise<CompiledWorkflow | undefined> {
  const result: CompileResult = await compileSpecFile(file, options);
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(file, d)}\n`);
  if (!result.compiled) io.stderr(`${file}: not compiled; fix the errors above (ferry validate ${file})\n`);
  return result.compiled;
}
