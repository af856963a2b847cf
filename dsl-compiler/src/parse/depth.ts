import { CST, Lexer, LineCounter, Parser } from "yaml";

/**
 * Deepest nesting of arrays and objects a spec may have anywhere — its
 * `input:` schema, env values, HTTP bodies, hints — counting the spec itself
 * as level 1. Far above what a workflow needs; it keeps every later stage
 * (YAML composer, schema, checks, hashing) clear of stack overflows.
 */
export const MAX_SPEC_DEPTH = 64;

type Path = Array<string | number>;

/**
 * The path of the first array or object nested deeper than `limit` in a
 * plain value (document order), or undefined. Iterative, so safe on any
 * depth, and on the cycles a recursive YAML alias makes.
 */
export function tooDeepInValue(value: unknown, limit = MAX_SPEC_DEPTH): Path | undefined {
  type Frame = { value: unknown; key?: string | number; parent?: Frame; depth: number };
  const stack: Frame[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (v === null || typeof v !== "object") continue;
    if (frame.depth > limit) return pathOf(frame);
    const entries: Array<[string | number, unknown]> = Array.isArray(v)
      ? v.map((item, i) => [i, item])
      : Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      if (item !== null && typeof item === "object") {
        stack.push({ value: item, key, parent: frame, depth: frame.depth + 1 });
      }
    }
  }
  return undefined;
}

function pathOf(frame: { key?: string | number; parent?: unknown }): Path {
  const path: Path = [];
  for (let f = frame as { key?: string | number; parent?: unknown } | undefined; f?.parent; ) {
    path.unshift(f.key!);
    f = f.parent as typeof f;
  }
  return path;
}

/**
 * The first collection nested deeper than `limit` in YAML or JSON text, with
 * its spec path and 1-based position, or undefined. Reads the concrete
 * syntax tree, which the yaml library builds without recursion, so it runs
 * before the (recursive) composer ever sees the text; and it stops reading
 * at the first lexeme that opens a collection too deep, so a megabyte of
 * `[` costs no more than a line of them.
 */
export function tooDeepInText(
  text: string,
  limit = MAX_SPEC_DEPTH,
): { path: Path; line: number; col: number } | undefined {
  // Every collection being read sits on the parser's stack until it is complete.
  const parser = new Parser();
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    offset += lexeme.length;
    for (const _ of parser.next(lexeme)) {
      // Whole documents: nothing to do until the stack is too deep.
    }
    if (parser.stack.filter((token) => CST.isCollection(token)).length > limit) {
      // Read just the text up to here into a tree (closing what is open) to name the place.
      return deepestIn(text.slice(0, offset), limit);
    }
  }
  return undefined;
}

/** Walks the syntax tree of `text` (iteratively) for the first collection deeper than `limit`. */
function deepestIn(text: string, limit: number): { path: Path; line: number; col: number } | undefined {
  const lines = new LineCounter();
  type Frame = { token: CST.Token; path: Path; depth: number };
  const stack: Frame[] = [];
  const documents: CST.Token[] = [];
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    if (token.type === "document" && token.value) documents.push(token.value);
  }
  for (let d = documents.length - 1; d >= 0; d--) stack.push({ token: documents[d]!, path: [], depth: 1 });
  while (stack.length > 0) {
    const { token, path, depth } = stack.pop()!;
    if (!CST.isCollection(token)) continue;
    if (depth > limit) return { path, ...lines.linePos(token.offset) };
    const children: Frame[] = [];
    const push = (child: CST.Token | undefined, at: Path) => {
      if (child && CST.isCollection(child)) children.push({ token: child, path: at, depth: depth + 1 });
    };
    const isSeq =
      token.type === "block-seq" || (token.type === "flow-collection" && token.start.source === "[");
    let index = 0;
    for (const item of token.items) {
      const key = "key" in item ? item.key : undefined;
      if (!isSeq && key === undefined && item.value === undefined) continue;
      const name = isSeq ? index++ : keyName(key ?? null);
      push(key ?? undefined, path);
      push(item.value, [...path, name]);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

function keyName(key: CST.Token | null): string {
  if (key && CST.isScalar(key)) {
    const scalar = CST.resolveAsScalar(key);
    if (scalar) return scalar.value;
  }
  return "?";
}
