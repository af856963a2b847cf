import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { MAX_SPEC_DEPTH, tooDeepInText, tooDeepInValue } from "./depth.ts";

/** A spec document parsed from YAML or JSON text, able to map spec paths back to source positions. */
export interface ParsedSpec {
  /** Plain JS value of the document. */
  value: unknown;
  /** 1-based line/col of the node at `path` (or of its key with `key: true`); the nearest existing ancestor otherwise. */
  locate(path: ReadonlyArray<string | number>, options?: { key?: boolean }): { line: number; col: number };
}

/** Largest spec accepted; a bigger file is almost certainly not a workflow. */
export const MAX_SPEC_BYTES = 32 * 1024 * 1024;

/**
 * Parses YAML (JSON is YAML) keeping source positions. Never throws: syntax
 * problems come back as `YAML_SYNTAX` diagnostics, nesting deeper than
 * {@link MAX_SPEC_DEPTH} as `TOO_DEEP`.
 */
export function parseSpecText(text: string): { spec?: ParsedSpec; diagnostics: Diagnostic[] } {
  if (text.length > MAX_SPEC_BYTES) {
    return { diagnostics: [syntax(`spec is ${text.length} bytes; the limit is ${MAX_SPEC_BYTES}`, 1, 1)] };
  }
  const binaryAt = firstBinaryCharacter(text);
  if (binaryAt >= 0) {
    const lines = text.slice(0, binaryAt).split("\n");
    return {
      diagnostics: [
        {
          ...syntax(
            "the file contains binary data, not YAML or JSON text",
            lines.length,
            lines.at(-1)!.length + 1,
          ),
          hint: "pass the workflow's .yaml or .json file",
        },
      ],
    };
  }
  const fast = parseJsonFast(text);
  if (fast === "too-deep") return { diagnostics: [tooDeepAt(text)] };
  if (fast) {
    // Positions are needed only to report diagnostics: find them lazily, with the YAML parser.
    let positioned: ParsedSpec | undefined;
    const locate: ParsedSpec["locate"] = (path, options) => {
      positioned ??= parseWithPositions(text).spec;
      return positioned?.locate(path, options) ?? { line: 1, col: 1 };
    };
    return { spec: { value: fast.value, locate }, diagnostics: [] };
  }
  return parseWithPositions(text);
}

function parseWithPositions(text: string): { spec?: ParsedSpec; diagnostics: Diagnostic[] } {
  // Before the composer, which recurses once per level and would overflow the stack.
  const deep = tooDeepInText(text);
  if (deep) return { diagnostics: [tooDeep(deep.path, deep.line, deep.col)] };
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The yaml library reports problems as data; this only guards against its internal failures.
    return { diagnostics: [syntax(`cannot parse the spec: ${(error as Error).message}`, 1, 1)] };
  }
  if (doc.errors.length > 0) {
    return {
      diagnostics: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return syntax(firstLine(e.message), pos.line, pos.col);
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { diagnostics: [syntax(firstLine((error as Error).message), 1, 1)] };
  }
  const locate: ParsedSpec["locate"] = (path, options = {}) => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const part of path) {
      const next = child(node, part);
      if (!next) break;
      node = next.value;
      keyNode = next.key;
    }
    const target = (options.key && keyNode) || node || keyNode;
    const offset = (target as Node | undefined)?.range?.[0] ?? 0;
    return lineCounter.linePos(offset);
  };
  // Aliases can nest a shallow text deeply (an anchor used inside itself, or chains of them).
  const aliased = tooDeepInValue(value);
  if (aliased) {
    const at = locate(aliased);
    return { diagnostics: [tooDeep(aliased, at.line, at.col)] };
  }
  return { spec: { value, locate }, diagnostics: [] };
}

function child(node: unknown, part: string | number): { key?: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(part)) {
        return { key: pair.key, value: pair.value ?? pair.key };
      }
    }
  } else if (isSeq(node) && typeof part === "number") {
    const item = node.items[part];
    if (item) return { value: item };
  }
  return undefined;
}

function tooDeep(path: ReadonlyArray<string | number>, line: number, col: number): Diagnostic {
  return {
    code: "TOO_DEEP",
    severity: "error",
    path,
    message: `arrays and objects are nested more than ${MAX_SPEC_DEPTH} levels deep here; a spec may nest at most ${MAX_SPEC_DEPTH}`,
    hint: "flatten this value, or pass large structured data as a job file (outputs:/inputs:) instead of in the spec",
    line,
    col,
  };
}

/** TOO_DEEP for JSON text whose parsed value is too deep, placed by the (non-recursive) syntax tree. */
function tooDeepAt(text: string): Diagnostic {
  const deep = tooDeepInText(text);
  return deep ? tooDeep(deep.path, deep.line, deep.col) : tooDeep([], 1, 1);
}

function syntax(message: string, line: number, col: number): Diagnostic {
  return { code: "YAML_SYNTAX", severity: "error", path: [], message, line, col };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * JSON text (generated specs are often JSON, and large) parses ~50× faster
 * with JSON.parse than with the YAML composer. JSON.parse silently keeps the
 * last of duplicate keys, which YAML rejects: when the text holds more keys
 * than the parsed value, the YAML path reports the duplicate with its place.
 */
function parseJsonFast(text: string): { value: unknown } | "too-deep" | undefined {
  if (!/^\s*[{[]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // not JSON after all (or too much for JSON.parse): the YAML path explains the problem
  }
  // Before counting keys, which recurses.
  if (tooDeepInValue(value)) return "too-deep";
  return countJsonKeys(text) === countValueKeys(value) ? { value } : undefined;
}

/** Object keys in JSON text: strings followed by a colon. */
function countJsonKeys(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 34 /* " */) continue;
    for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \\ */) i++;
    let j = i + 1;
    while (
      j < text.length &&
      (text.charCodeAt(j) === 32 ||
        text.charCodeAt(j) === 10 ||
        text.charCodeAt(j) === 13 ||
        text.charCodeAt(j) === 9)
    )
      j++;
    if (text.charCodeAt(j) === 58 /* : */) keys++;
  }
  return keys;
}

function countValueKeys(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countValueKeys(v), 0);
  return Object.entries(value).reduce((n, [, v]) => n + 1 + countValueKeys(v), 0);
}

/** Index of the first NUL/control character (other than tab, newline, CR, form feed) or U+FFFD, or -1. */
function firstBinaryCharacter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12 && c !== 11) || c === 0xfffd) return i;
  }
  return -1;
}
