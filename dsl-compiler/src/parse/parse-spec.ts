import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Diagnostic } from "../diagnostics/diagnostic.ts";

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
 * problems come back as `YAML_SYNTAX` diagnostics.
 */
export function parseSpecText(text: string): { spec?: ParsedSpec; diagnostics: Diagnostic[] } {
  if (text.length > MAX_SPEC_BYTES) {
    return { diagnostics: [syntax(`spec is ${text.length} bytes; the limit is ${MAX_SPEC_BYTES}`, 1, 1)] };
  }
  const binaryAt = text.search(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
  if (binaryAt >= 0) {
    const lines = text.slice(0, binaryAt).split("\n");
    return {
      diagnostics: [
        {
          ...syntax("the file contains binary data, not YAML or JSON text", lines.length, lines.at(-1)!.length + 1),
          hint: "pass the workflow's .yaml or .json file",
        },
      ],
    };
  }
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, maxAliasCount: 1000 });
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

function syntax(message: string, line: number, col: number): Diagnostic {
  return { code: "YAML_SYNTAX", severity: "error", path: [], message, line, col };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}
