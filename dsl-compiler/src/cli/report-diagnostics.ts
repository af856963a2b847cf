import type { CompileResult } from "../compile.ts";
import type { CompiledWorkflow } from "../compiled.ts";
import { formatDiagnostic } from "../diagnostics/diagnostic.ts";
import type { CliIo } from "./command.ts";
import { compileSpecFile } from "./load-spec.ts";

/** Compiles a spec for a command; prints its diagnostics and returns undefined when it has errors. */
export async function compileOrReport(file: string, io: CliIo): Promise<CompiledWorkflow | undefined> {
  const result: CompileResult = await compileSpecFile(file);
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(file, d)}\n`);
  if (!result.compiled) io.stderr(`${file}: not compiled; fix the errors above (ferry validate ${file})\n`);
  return result.compiled;
}
