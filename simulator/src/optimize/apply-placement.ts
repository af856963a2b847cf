import { isMap, isScalar, isSeq, parse, parseDocument } from "yaml";
import { SimulatorError } from "../errors.ts";

/**
 * Writes `moves` (step → site) into the spec text. The yaml library's
 * document API finds each step's `site` value and where it sits in the text;
 * only those characters change, so comments, key order, quoting and flow or
 * block style of everything else stay byte for byte. Only top-level `steps`
 * are placed. Throws when a
 * moved step is not in the text (the placement is not of this spec).
 */
export function applyPlacement(specText: string, moves: ReadonlyArray<{ step: string; to: string }>): string {
  if (moves.length === 0) return specText;
  const doc = parseDocument(specText);
  const steps = doc.get("steps", true);
  if (!isSeq(steps)) throw new SimulatorError("INVALID_INPUT", "the spec has no steps list to place");
  const byName = new Map<string, (typeof steps.items)[number]>();
  for (const item of steps.items) {
    if (!isMap(item)) continue;
    const name = item.get("name", true);
    if (isScalar(name) && typeof name.value === "string") byName.set(name.value, item);
  }
  const edits: Array<{ from: number; to: number; text: string }> = [];
  for (const move of moves) {
    const item = byName.get(move.step);
    if (!isMap(item))
      throw new SimulatorError("INVALID_INPUT", `step "${move.step}" is not in the spec's steps list`);
    const value = plainOrQuoted(move.to);
    const site = item.get("site", true);
    // Every step names its site (the schema requires it), so there is always a value to replace.
    if (!isScalar(site) || !site.range)
      throw new SimulatorError("INVALID_INPUT", `step "${move.step}" has no site to replace`);
    edits.push({ from: site.range[0], to: site.range[1], text: value });
  }
  let out = specText;
  for (const edit of edits.sort((a, b) => b.from - a.from))
    out = out.slice(0, edit.from) + edit.text + out.slice(edit.to);
  return out;
}

/** A site name as a plain scalar, quoted when YAML would read the plain form as something else (`123`, `true`). */
function plainOrQuoted(name: string): string {
  let read: unknown;
  try {
    read = parse(name);
  } catch {
    read = undefined;
  }
  return read === name ? name : JSON.stringify(name);
}

/** A unified-style diff of two texts, line by line, with `context` lines around each change. */
export function lineDiff(
  before: string,
  after: string,
  names: { from: string; to: string },
  context = 1,
): string {
  const a = before.split("\n");
  const b = after.split("\n");
  // Longest common subsequence; specs are small enough for the table.
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Array<{ kind: " " | "-" | "+"; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: " ", text: a[i++]! });
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ kind: "-", text: a[i++]! });
    else ops.push({ kind: "+", text: b[j++]! });
  }
  const keep = ops.map(() => false);
  ops.forEach((op, k) => {
    if (op.kind === " ") return;
    for (let c = Math.max(0, k - context); c <= Math.min(ops.length - 1, k + context); c++) keep[c] = true;
  });
  if (!keep.includes(true)) return "";
  const out = [`--- ${names.from}`, `+++ ${names.to}`];
  ops.forEach((op, k) => {
    if (!keep[k]) return;
    if (k > 0 && !keep[k - 1]) out.push("…");
    out.push(`${op.kind}${op.text}`);
  });
  return `${out.join("\n")}\n`;
}
