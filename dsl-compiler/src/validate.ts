import { checkHandlerFiles } from "./check/handler-files.ts";
import { checkSpec } from "./check/index.ts";
import { checkNewerVersion } from "./check/version.ts";
import type { Diagnostic } from "./diagnostics/diagnostic.ts";
import { type ParsedSpec, parseSpecText } from "./parse/parse-spec.ts";
import { schemaIssuesToDiagnostics } from "./parse/schema-issues.ts";
import { type WorkflowSpec, WorkflowSpecSchema } from "./schema/spec.ts";

export interface ValidationResult {
  /** Present only when there are no errors. */
  spec?: WorkflowSpec;
  /** Sorted by position; each carries line and col. */
  diagnostics: Diagnostic[];
}

/** Parses and validates spec text: YAML syntax, then the schema, then the check rules. Never throws on user input. */
export interface ValidateOptions {
  /** Checks that need the file system (handler files exist), supplied by the caller. */
  fileExists?: (path: string) => boolean;
}

/** Spec text from which on zod's compiled parsers pay for themselves on a first parse (about 800 steps). */
const JIT_SPEC_CHARS = 64 * 1024;

export function validateSpec(text: string, options: ValidateOptions = {}): ValidationResult {
  const parsed = parseSpecText(text);
  if (!parsed.spec) return { diagnostics: parsed.diagnostics };
  const newer = checkNewerVersion(parsed.spec.value);
  if (newer) return { diagnostics: locateAll(parsed.spec, [newer]) };
  // zod compiles a parser per object schema on its first parse (new Function), which pays off
  // only over many values: a small spec, parsed once by a fresh CLI, is faster without it.
  const jitless = text.length < JIT_SPEC_CHARS;
  const result = WorkflowSpecSchema.safeParse(parsed.spec.value, { reportInput: false, jitless });
  if (!result.success) {
    return {
      diagnostics: locateAll(
        parsed.spec,
        schemaIssuesToDiagnostics(result.error.issues, WorkflowSpecSchema, parsed.spec.value),
      ),
    };
  }
  const extra = options.fileExists ? [checkHandlerFiles(options.fileExists)] : [];
  const diagnostics = locateAll(parsed.spec, checkSpec(result.data, extra));
  return diagnostics.some((d) => d.severity === "error")
    ? { diagnostics }
    : { spec: result.data, diagnostics };
}

function locateAll(spec: ParsedSpec, diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d) => {
      // Unknown fields point at the key itself; everything else at the value.
      const pos = spec.locate(d.path, { key: d.code === "UNKNOWN_FIELD" });
      return { ...d, line: pos.line, col: pos.col };
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
}
