import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { type Diagnostic, formatPath } from "./diagnostics/diagnostic.ts";
import type { WorkflowIr } from "./ir/ir.ts";

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** One validator instance, made on first use (most specs declare no input schema and never pay for it): schemas compile to code once and are cached by object identity. */
let ajv: Ajv2020 | undefined;
const validator = () =>
  (ajv ??= addFormats(new Ajv2020({ allErrors: true, strict: true, validateFormats: true })));
const compiled = new WeakMap<object, ValidateFunction>();

/** Most input problems reported at once; a huge wrong input would otherwise list thousands. */
const MAX_INPUT_DIAGNOSTICS = 20;

/**
 * Compiles a workflow's `input:` JSON Schema, or returns why it cannot be
 * used (an unknown keyword, a wrong type), so the spec is refused before
 * any run rather than at the first run.
 */
export function compileInputSchema(
  schema: Record<string, unknown>,
): { validate: ValidateFunction } | { problem: string } {
  const cached = compiled.get(schema);
  if (cached) return { validate: cached };
  try {
    const validate = validator().compile(schema);
    compiled.set(schema, validate);
    return { validate };
  } catch (error) {
    // ajv throws on an invalid schema; that is the spec's problem, reported as a diagnostic.
    return { problem: (error as Error).message };
  }
}

/**
 * Checks a run's input against the workflow's `input:` JSON Schema. Returns
 * diagnostics (empty when the input is valid or the workflow declares no
 * schema); `path` is the place in the input, e.g. `["input", "date"]`.
 * `ferry run`, `ferry start` and the dashboard call this before starting.
 */
export function validateWorkflowInput(ir: Pick<WorkflowIr, "input">, input: unknown): Diagnostic[] {
  if (!ir.input) return [];
  const result = compileInputSchema(ir.input);
  if ("problem" in result)
    return [
      {
        code: "INVALID_INPUT_SCHEMA",
        severity: "error",
        path: ["input"],
        message: result.problem,
        hint: "fix the workflow's input: schema",
      },
    ];
  if (result.validate(input)) return [];
  const errors = result.validate.errors ?? [];
  return errors.slice(0, MAX_INPUT_DIAGNOSTICS).map(toDiagnostic);
}

function toDiagnostic(e: ErrorObject): Diagnostic {
  const path: Array<string | number> = [
    "input",
    ...e.instancePath
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
  ];
  const params = e.params as Record<string, unknown>;
  if (e.keyword === "required") path.push(String(params.missingProperty));
  if (e.keyword === "additionalProperties") path.push(String(params.additionalProperty));
  const message =
    e.keyword === "required"
      ? "is required by the workflow's input schema"
      : e.keyword === "additionalProperties"
        ? "is not allowed by the workflow's input schema"
        : (e.message ?? "does not match the workflow's input schema");
  return {
    code: "INVALID_INPUT",
    severity: "error",
    path,
    message,
    hint: `see the workflow's input: schema at ${e.schemaPath}`,
  };
}

/** `--input: error[INVALID_INPUT] input.date: must match format "date"` and the hint, for CLIs. */
export function formatInputDiagnostic(source: string, d: Diagnostic): string {
  const head = `${source}: ${d.severity}[${d.code}] ${formatPath(d.path)}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}
