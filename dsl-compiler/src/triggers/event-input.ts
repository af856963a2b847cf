/**
 * A trigger's `input:` template: any JSON value in which strings such as
 * `"$.detail.object.key"` are paths into the event. On AWS it becomes an
 * EventBridge input transformer; `ferry run --watch` applies it itself.
 */
import { EVENT_PATH_PATTERN } from "../schema/spec.ts";

/** EventBridge takes up to 100 paths in an input transformer. */
export const MAX_INPUT_PATHS = 100;

export interface InputTransformer {
  inputPathsMap: Record<string, string>;
  inputTemplate: string;
}

/** Whether a template string is a path into the event (rather than a literal). */
export function isEventPath(value: string): boolean {
  return EVENT_PATH_PATTERN.test(value);
}

/** Every path string in the template, with its place in the template. */
export function templatePaths(template: unknown): Array<{ path: string; at: Array<string | number> }> {
  const found: Array<{ path: string; at: Array<string | number> }> = [];
  const walk = (node: unknown, at: Array<string | number>): void => {
    if (typeof node === "string") {
      if (node.startsWith("$")) found.push({ path: node, at });
    } else if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...at, i]);
    } else if (node !== null && typeof node === "object")
      for (const [key, child] of Object.entries(node)) walk(child, [...at, key]);
  };
  walk(template, []);
  return found;
}

/**
 * The input transformer for a template: each distinct path gets a
 * placeholder (`<p0>`, `<p1>`, …) written unquoted, so EventBridge inserts
 * the event's value as JSON — a string quoted, a number or an object as is.
 */
export function inputTransformer(template: unknown): InputTransformer {
  const inputPathsMap: Record<string, string> = {};
  const names = new Map<string, string>();
  const marker = (path: string) => {
    let name = names.get(path);
    if (!name) {
      name = `p${names.size}`;
      names.set(path, name);
      inputPathsMap[name] = path;
    }
    return `\u0000${name}\u0000`;
  };
  const replace = (node: unknown): unknown => {
    if (typeof node === "string") return isEventPath(node) ? marker(node) : node;
    if (Array.isArray(node)) return node.map(replace);
    if (node !== null && typeof node === "object")
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replace(v)]));
    return node;
  };
  const json = JSON.stringify(replace(template));
  const inputTemplate = json.replace(/"\\u0000(p\d+)\\u0000"/g, "<$1>");
  return { inputPathsMap, inputTemplate };
}

/** Reads `$.a.b[0]` from an event; a path that leads nowhere gives null, as in EventBridge. */
export function readEventPath(event: unknown, path: string): unknown {
  let node: unknown = event;
  for (const m of path.slice(1).matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)) {
    if (node === null || typeof node !== "object") return null;
    node = m[1] !== undefined ? (node as Record<string, unknown>)[m[1]] : (node as unknown[])[Number(m[2])];
    if (node === undefined) return null;
  }
  return node;
}

/** The execution input a trigger gives for an event: the template filled in, or the whole event. */
export function applyInputTemplate(template: unknown, event: unknown): unknown {
  if (template === undefined) return event;
  const fill = (node: unknown): unknown => {
    if (typeof node === "string") return isEventPath(node) ? readEventPath(event, node) : node;
    if (Array.isArray(node)) return node.map(fill);
    if (node !== null && typeof node === "object")
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    return node;
  };
  return fill(template);
}
