import dagre from "@dagrejs/dagre";
import type { GraphEdge, GraphLayout, GraphNode } from "./run-view.ts";

export interface LayoutOptions {
  /** Above this many steps, series chains are collapsed into one node. @default 60 */
  collapseAbove?: number;
  /** Above this many nodes after that, parallel steps of one family (same name but for digits) become one node. @default 150 */
  groupAbove?: number;
}

interface Group {
  id: string;
  label: string;
  members: string[];
  kind: GraphNode["kind"];
}

const NODE_HEIGHT = 36;
const CHAR_WIDTH = 7.5;

/**
 * Lays out a run's DAG with dagre (top to bottom), drawing the transitive
 * reduction (a dependency also reachable through another is implied, not
 * drawn; the step's details list all of them). Large workflows stay
 * readable: first each series chain (a → b where a is b's only dependency
 * and b a's only dependent) becomes one node, then, if still too many,
 * steps that share a family name (`mProject_12` → `mProject`) and have no
 * edge among them become one group node. Every node lists its member steps.
 */
export function layoutRunGraph(
  steps: ReadonlyArray<{ name: string; depends: readonly string[] }>,
  options: LayoutOptions = {},
): GraphLayout {
  const names = new Set(steps.map((s) => s.name));
  const given = new Map(steps.map((s) => [s.name, s.depends.filter((d) => names.has(d))]));
  // Edges implied by a longer path are not drawn: they add nothing to the picture, and each long
  // edge costs dagre a dummy node per rank it spans (50 steps that each depend on the previous one
  // and on the first take it 1.4 s, 200 take 23 s; without the implied edges it is a chain).
  const deps = transitiveReduction(steps, given);
  const impliedEdges = count(given) - count(deps);
  let groups: Group[] = steps.map((s) => ({ id: s.name, label: s.name, members: [s.name], kind: "step" }));
  let collapsed = false;
  if (steps.length > (options.collapseAbove ?? 60)) {
    groups = collapseChains(steps, deps);
    collapsed = true;
  }
  if (groups.length > (options.groupAbove ?? 150)) groups = groupFamilies(groups, deps);

  const groupOf = new Map<string, string>();
  for (const g of groups) for (const m of g.members) groupOf.set(m, g.id);
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const group of groups) {
    // Groups and chains are drawn with " · done/total" after the label.
    const chars =
      group.label.length + (group.kind === "step" ? 0 : 4 + 2 * String(group.members.length).length);
    g.setNode(group.id, { width: Math.max(80, chars * CHAR_WIDTH + 28), height: NODE_HEIGHT });
  }
  for (const [step, ds] of deps) {
    const to = groupOf.get(step)!;
    for (const d of ds) {
      const from = groupOf.get(d)!;
      if (from !== to && !g.hasEdge(from, to)) g.setEdge(from, to);
    }
  }
  dagre.layout(g);
  const nodes: GraphNode[] = groups.map((group) => {
    const n = g.node(group.id);
    return { ...group, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const edges: GraphEdge[] = g.edges().map((e: { v: string; w: string }) => ({
    from: e.v,
    to: e.w,
    points: ((g.edge(e) as { points?: Array<{ x: number; y: number }> }).points ?? []).map((p) => ({
      x: Math.round(p.x),
      y: Math.round(p.y),
    })),
  }));
  const label = g.graph();
  return {
    width: Math.ceil(label.width ?? 0),
    height: Math.ceil(label.height ?? 0),
    nodes,
    edges,
    stepCount: steps.length,
    impliedEdges,
    collapsed: collapsed && groups.length < steps.length,
  };
}

function count(deps: Map<string, string[]>): number {
  let n = 0;
  for (const ds of deps.values()) n += ds.length;
  return n;
}

function collapseChains(steps: ReadonlyArray<{ name: string }>, deps: Map<string, string[]>): Group[] {
  const dependents = new Map<string, string[]>(steps.map((s) => [s.name, []]));
  for (const [step, ds] of deps) for (const d of ds) dependents.get(d)!.push(step);
  // a → b is a chain link when a's only dependent is b and b's only dependency is a.
  const linksForward = (a: string) => {
    const out = dependents.get(a)!;
    return out.length === 1 && deps.get(out[0]!)!.length === 1 ? out[0]! : undefined;
  };
  const hasLinkBack = (b: string) => {
    const ins = deps.get(b)!;
    return ins.length === 1 && dependents.get(ins[0]!)!.length === 1;
  };
  const groups: Group[] = [];
  for (const s of steps) {
    if (hasLinkBack(s.name)) continue; // inside a chain that starts earlier
    const members = [s.name];
    for (let next = linksForward(s.name); next; next = linksForward(next)) members.push(next);
    groups.push(
      members.length === 1
        ? { id: s.name, label: s.name, members, kind: "step" }
        : {
            id: `chain:${s.name}`,
            label: `${s.name} … ${members.at(-1)} (${members.length})`,
            members,
            kind: "chain",
          },
    );
  }
  return groups;
}

function groupFamilies(groups: Group[], deps: Map<string, string[]>): Group[] {
  const family = (g: Group) => `${g.kind}:${g.members[0]!.replace(/[-_.]?\d+$/, "").replace(/\d+/g, "#")}`;
  const byFamily = new Map<string, Group[]>();
  for (const g of groups) byFamily.set(family(g), [...(byFamily.get(family(g)) ?? []), g]);
  const out: Group[] = [];
  for (const [key, members] of byFamily) {
    const inside = new Set(members.flatMap((m) => m.members));
    // Only an antichain folds: an edge inside the group would vanish from the picture.
    const internalEdge = members.some((m) =>
      m.members.some((s) => deps.get(s)!.some((d) => inside.has(d) && !m.members.includes(d))),
    );
    if (members.length < 3 || internalEdge) {
      out.push(...members);
      continue;
    }
    const base = key.slice(key.indexOf(":") + 1);
    out.push({
      id: `group:${base}`,
      label: `${base} ×${inside.size}`,
      members: [...inside],
      kind: "group",
    });
  }
  return out;
}

/** The same reachability with the fewest edges: a dependency reachable through another one is dropped. */
export function transitiveReduction(
  steps: ReadonlyArray<{ name: string }>,
  deps: Map<string, string[]>,
): Map<string, string[]> {
  const order = topologicalOrder(steps, deps);
  const position = new Map(order.map((name, i) => [name, i]));
  const words = Math.ceil(order.length / 32);
  const reach = order.map(() => new Uint32Array(words));
  const dependents = new Map<string, string[]>(order.map((n) => [n, []]));
  for (const [step, ds] of deps) for (const d of ds) dependents.get(d)!.push(step);
  const kept = new Map<string, string[]>(order.map((n) => [n, []]));
  for (let i = order.length - 1; i >= 0; i--) {
    const mine = reach[i]!;
    const children = dependents
      .get(order[i]!)!
      .map((c) => position.get(c)!)
      .sort((a, b) => a - b);
    for (const c of children) {
      if (mine[c >> 5]! & (1 << (c & 31))) continue; // reached through an earlier child
      kept.get(order[c]!)!.push(order[i]!);
      mine[c >> 5]! |= 1 << (c & 31);
      const theirs = reach[c]!;
      for (let w = 0; w < words; w++) mine[w]! |= theirs[w]!;
    }
  }
  return kept;
}

function topologicalOrder(steps: ReadonlyArray<{ name: string }>, deps: Map<string, string[]>): string[] {
  const indegree = new Map(steps.map((s) => [s.name, deps.get(s.name)!.length]));
  const dependents = new Map<string, string[]>(steps.map((s) => [s.name, []]));
  for (const [step, ds] of deps) for (const d of ds) dependents.get(d)!.push(step);
  const order = steps.filter((s) => indegree.get(s.name) === 0).map((s) => s.name);
  for (let i = 0; i < order.length; i++) {
    for (const next of dependents.get(order[i]!)!) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) order.push(next);
    }
  }
  // A cycle cannot come from a compiled spec; keep any leftover steps rather than lose them.
  for (const s of steps) if (indegree.get(s.name)! > 0) order.push(s.name);
  return order;
}

/**
 * Layouts by DAG: runs of one workflow share a DAG, so a few layouts cover a
 * project (the cache is emptied past 32).
 */
export class LayoutCache {
  private readonly layouts = new Map<string, GraphLayout>();

  layout(steps: ReadonlyArray<{ name: string; depends: readonly string[] }>): GraphLayout {
    const key = JSON.stringify(steps);
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = layoutRunGraph(steps);
      if (this.layouts.size > 32) this.layouts.clear();
      this.layouts.set(key, layout);
    }
    return layout;
  }
}
