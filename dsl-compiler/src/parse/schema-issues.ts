import type { z } from "zod";
import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { didYouMean } from "../diagnostics/did-you-mean.ts";

type Path = ReadonlyArray<string | number>;

/**
 * Translates zod issues into Ferry diagnostics: one per problem, with the
 * value received and a way out. `schema` and `value` let unknown-field
 * errors suggest the field the user probably meant.
 */
export function schemaIssuesToDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  value: unknown,
): Diagnostic[] {
  return issues.flatMap((issue) => toDiagnostics(issue, schema, value));
}

function toDiagnostics(issue: z.core.$ZodIssue, schema: z.ZodType, value: unknown): Diagnostic[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const base = { severity: "error" as const, path };
  const got = describeValue(valueAt(value, path));
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(schema, value, path);
      return issue.keys.map((key) => ({
        ...base,
        code: "UNKNOWN_FIELD" as const,
        path: [...path, key],
        message: `unknown field "${key}"`,
        hint: didYouMean(key, known) ?? (known.length ? `allowed fields: ${known.join(", ")}` : undefined),
      }));
    }
    case "invalid_type":
      if (valueAt(value, path) === undefined) {
        return [
          { ...base, code: "MISSING_FIELD", message: `"${String(path.at(-1) ?? "spec")}" is required` },
        ];
      }
      if (path.length === 0) {
        return [
          {
            ...base,
            code: "NOT_AN_OBJECT",
            message: `a workflow spec must be a mapping, got ${got}`,
            hint: "start from examples/hello/workflow.yaml",
          },
        ];
      }
      return [{ ...base, code: "INVALID_TYPE", message: `must be ${article(issue.expected)}, got ${got}` }];
    case "too_small":
    case "too_big": {
      const numeric = issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint";
      const bound =
        issue.code === "too_small"
          ? `${issue.inclusive === false ? ">" : "≥"} ${issue.minimum}`
          : `${issue.inclusive === false ? "<" : "≤"} ${issue.maximum}`;
      if (numeric) return [{ ...base, code: "OUT_OF_RANGE", message: `must be ${bound}, got ${got}` }];
      const unit = issue.origin === "array" ? "items" : issue.origin === "string" ? "characters" : "entries";
      return [{ ...base, code: "INVALID_VALUE", message: `must have ${bound} ${unit}, got ${got}` }];
    }
    case "invalid_format": {
      const isName =
        path.at(-1) === "name" || path.at(-2) === "depends" || path[0] === "sites" || path.at(-1) === "site";
      return [
        { ...base, code: isName ? "INVALID_NAME" : "INVALID_VALUE", message: `${issue.message}, got ${got}` },
      ];
    }
    case "invalid_value":
      return [
        {
          ...base,
          code: "INVALID_VALUE",
          message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${got}`,
        },
      ];
    case "invalid_union":
      return [{ ...base, code: "INVALID_VALUE", message: `${unionMessage(issue, path)}, got ${got}` }];
    case "invalid_key":
      return [
        {
          ...base,
          code: path[0] === "sites" ? "INVALID_NAME" : "INVALID_VALUE",
          message: `key ${issue.issues[0]?.message ?? "is invalid"}`,
        },
      ];
    case "not_multiple_of":
      return [
        { ...base, code: "OUT_OF_RANGE", message: `must be a multiple of ${issue.divisor}, got ${got}` },
      ];
    default:
      return [{ ...base, code: "INVALID_VALUE", message: `${issue.message}, got ${got}` }];
  }
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion, path: Path): string {
  if (path[0] === "sites" && path.length === 2) return 'a site must have type "aws" (with region) or "edge"';
  if (path.at(-1) === "cache") return "must be true, false or { enabled, ttl, key }";
  return issue.message;
}

function valueAt(value: unknown, path: Path): unknown {
  let cur = value;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}

/** A short, safe rendering of what the user wrote. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object") return "a mapping";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function article(type: string): string {
  if (type === "object") return "a mapping";
  if (type === "array") return "a list";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Field names the schema allows at `path` (for "did you mean"). */
function knownKeys(schema: z.ZodType, value: unknown, path: Path): string[] {
  let cur: unknown = schema;
  for (let i = 0; i <= path.length; i++) {
    cur = unwrap(cur, valueAt(value, path.slice(0, i)));
    if (i === path.length) break;
    const def = defOf(cur);
    if (def?.type === "object") cur = (def.shape as Record<string, unknown>)[String(path[i])];
    else if (def?.type === "array") cur = def.element;
    else if (def?.type === "record") cur = def.valueType;
    else return [];
  }
  const def = defOf(cur);
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: unknown, data: unknown): unknown {
  let cur = schema;
  for (let guard = 0; guard < 10; guard++) {
    const def = defOf(cur);
    if (!def) return cur;
    if (
      def.type === "optional" ||
      def.type === "default" ||
      def.type === "nullable" ||
      def.type === "prefault"
    ) {
      cur = def.innerType;
    } else if (def.type === "union") {
      const options = def.options as unknown[];
      const discriminator = def.discriminator as string | undefined;
      const tag =
        discriminator && data && typeof data === "object"
          ? (data as Record<string, unknown>)[discriminator]
          : undefined;
      cur =
        options.find((o) => {
          const shape = defOf(o)?.shape as Record<string, unknown> | undefined;
          const literal = shape && discriminator ? defOf(shape[discriminator]) : undefined;
          return (literal?.values as unknown[] | undefined)?.includes(tag);
        }) ?? options.find((o) => defOf(o)?.type === "object");
    } else return cur;
  }
  return cur;
}

function defOf(schema: unknown): Record<string, unknown> | undefined {
  return (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
}
