import { ancestorSets, BitSet, type Deps, transitiveReduction } from "../ir/graph.ts";

/**
 * How the DAG is laid out on Step Functions' control flow. Step Functions has
 * sequences and Parallel states but no DAG, so:
 *
 * - series-parallel parts become exact nests of `seq` and `par` blocks;
 * - a part that is not series-parallel becomes one `par` whose branches are
 *   the paths of a minimum path cover, and each dependency that crosses
 *   branches becomes an `await` in the waiting branch and a `signal` after
 *   the step it waits for.
 *
 * Either way a step starts as soon as its last dependency finishes: no wait
 * is added that the DAG does not have.
 */
export type Block =
  | { kind: "step"; node: number }
  | { kind: "seq"; items: Block[] }
  | { kind: "par"; branches: Block[] }
  | { kind: "await"; node: number; dep: number }
  | { kind: "signal"; node: number }
  /** A part moved into a child state machine (see `split.ts`). */
  | { kind: "child"; id: string; block: Block };

/** `deps[v]` lists v's dependencies (indices < v: nodes are in topological order). */
export function buildStructure(deps: Deps): Block {
  const n = deps.length;
  if (n === 0) return { kind: "seq", items: [] };
  const ancestors = ancestorSets(deps);
  const reduced = transitiveReduction(deps, ancestors);
  const reducedDependents: number[][] = reduced.map(() => []);
  reduced.forEach((ds, v) => {
    for (const d of ds) reducedDependents[d]!.push(v);
  });
  const ctx: Context = { deps, reduced, reducedDependents, ancestors };
  return limitBranches(
    decompose(
      ctx,
      Array.from({ length: n }, (_, i) => i),
    ),
  );
}

/**
 * Most Parallel branches that run at once in the local runtime
 * (aws-local-stepfunctions runs at most 40); wider fan-outs nest, which
 * changes no timing and lets every branch run, so joins cannot deadlock.
 */
export const MAX_PARALLEL_BRANCHES = 40;

function limitBranches(block: Block): Block {
  if (block.kind === "seq") return { kind: "seq", items: block.items.map(limitBranches) };
  if (block.kind !== "par") return block;
  let branches = block.branches.map(limitBranches);
  while (branches.length > MAX_PARALLEL_BRANCHES) {
    const grouped: Block[] = [];
    for (let i = 0; i < branches.length; i += MAX_PARALLEL_BRANCHES) {
      const group = branches.slice(i, i + MAX_PARALLEL_BRANCHES);
      grouped.push(group.length === 1 ? group[0]! : { kind: "par", branches: group });
    }
    branches = grouped;
  }
  return { kind: "par", branches };
}

interface Context {
  deps: Deps;
  reduced: number[][];
  reducedDependents: number[][];
  ancestors: BitSet[];
}

/** `nodes` is sorted and convex (every path between two of its nodes stays inside it). */
function decompose(ctx: Context, nodes: number[]): Block {
  if (nodes.length === 1) return { kind: "step", node: nodes[0]! };
  const components = weakComponents(ctx, nodes);
  if (components.length > 1) return { kind: "par", branches: components.map((c) => decompose(ctx, c)) };
  const cuts = seriesCuts(ctx, nodes);
  if (cuts.length > 0) {
    const items: Block[] = [];
    let from = 0;
    for (const cut of [...cuts, nodes.length]) {
      items.push(decompose(ctx, nodes.slice(from, cut)));
      from = cut;
    }
    return { kind: "seq", items: items.flatMap((b) => (b.kind === "seq" ? b.items : [b])) };
  }
  return pathCoverBlock(ctx, nodes);
}

function weakComponents(ctx: Context, nodes: number[]): number[][] {
  const inSet = new Set(nodes);
  const seen = new Set<number>();
  const components: number[][] = [];
  for (const start of nodes) {
    if (seen.has(start)) continue;
    const component: number[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      const v = stack.pop()!;
      component.push(v);
      for (const w of [...ctx.reduced[v]!, ...ctx.reducedDependents[v]!]) {
        if (inSet.has(w) && !seen.has(w)) {
          seen.add(w);
          stack.push(w);
        }
      }
    }
    components.push(component.sort((a, b) => a - b));
  }
  return components;
}

/**
 * Positions `i` where `nodes[0..i)` can run entirely before `nodes[i..]`
 * without delaying anything: every node before the cut is an ancestor of
 * every node after it. Such a cut shows up in any topological order.
 */
function seriesCuts(ctx: Context, nodes: number[]): number[] {
  const lo = nodes[0]! >>> 5;
  const hi = nodes.at(-1)! >>> 5;
  const size = ctx.ancestors[0]!.size;
  const prefix = new BitSet(size); // nodes before the cut
  for (let i = 0; i < nodes.length - 1; i++) prefix.add(nodes[i]!);
  const common = new BitSet(size); // nodes that are ancestors of every node after the cut
  common.words.fill(0xffffffff);
  const cuts: number[] = [];
  for (let i = nodes.length - 1; i >= 1; i--) {
    const anc = ctx.ancestors[nodes[i]!]!.words;
    let covered = true;
    for (let w = lo; w <= hi; w++) {
      common.words[w]! &= anc[w]!;
      if ((prefix.words[w]! & ~common.words[w]!) !== 0) covered = false;
    }
    if (covered) cuts.push(i);
    const leaving = nodes[i - 1]!;
    prefix.words[leaving >>> 5]! &= ~(1 << (leaving & 31));
  }
  return cuts.reverse();
}

/**
 * One branch per path of a minimum path cover (maximum matching on the
 * reduced edges, Hopcroft–Karp). A branch runs its path in order and awaits
 * each dependency that another branch produces.
 */
function pathCoverBlock(ctx: Context, nodes: number[]): Block {
  const inSet = new Set(nodes);
  const next = maximumMatching(nodes, (v) => ctx.reducedDependents[v]!.filter((w) => inSet.has(w)));
  const prev = new Map<number, number>();
  for (const [v, w] of next) prev.set(w, v);
  const awaited = new Set<number>();
  const branches: number[][] = [];
  for (const v of nodes) {
    if (prev.has(v)) continue;
    const path: number[] = [];
    for (let cur: number | undefined = v; cur !== undefined; cur = next.get(cur)) path.push(cur);
    branches.push(path);
  }
  const awaitsOf = (v: number) => ctx.deps[v]!.filter((d) => inSet.has(d) && d !== prev.get(v));
  for (const v of nodes) for (const d of awaitsOf(v)) awaited.add(d);
  return {
    kind: "par",
    branches: branches.map((path) => ({
      kind: "seq",
      items: path.flatMap((v): Block[] => [
        ...awaitsOf(v).map((dep): Block => ({ kind: "await", node: v, dep })),
        { kind: "step", node: v },
        ...(awaited.has(v) ? [{ kind: "signal", node: v } as const] : []),
      ]),
    })),
  };
}

/** Maximum bipartite matching from each node to one of its successors. */
function maximumMatching(nodes: number[], successors: (v: number) => number[]): Map<number, number> {
  const matchOf = new Map<number, number>(); // left v → right w
  const matchedBy = new Map<number, number>(); // right w → left v
  const adj = new Map(nodes.map((v) => [v, successors(v)]));
  const INF = Number.MAX_SAFE_INTEGER;
  const dist = new Map<number, number>();
  const bfs = (): boolean => {
    const queue: number[] = [];
    for (const v of nodes) {
      if (matchOf.has(v)) dist.set(v, INF);
      else {
        dist.set(v, 0);
        queue.push(v);
      }
    }
    let found = false;
    for (let head = 0; head < queue.length; head++) {
      const v = queue[head]!;
      for (const w of adj.get(v)!) {
        const u = matchedBy.get(w);
        if (u === undefined) found = true;
        else if (dist.get(u) === INF) {
          dist.set(u, dist.get(v)! + 1);
          queue.push(u);
        }
      }
    }
    return found;
  };
  // Iterative augmenting-path search: long chains would overflow the JS stack.
  const augment = (root: number): boolean => {
    const stack: Array<{ v: number; i: number }> = [{ v: root, i: 0 }];
    const trail: Array<[number, number]> = [];
    while (stack.length > 0) {
      const frame = stack.at(-1)!;
      const edges = adj.get(frame.v)!;
      if (frame.i >= edges.length) {
        dist.set(frame.v, INF);
        stack.pop();
        trail.pop();
        continue;
      }
      const w = edges[frame.i++]!;
      const u = matchedBy.get(w);
      if (u === undefined) {
        trail.push([frame.v, w]);
        for (const [a, b] of trail) {
          matchOf.set(a, b);
          matchedBy.set(b, a);
        }
        return true;
      }
      if (dist.get(u) === dist.get(frame.v)! + 1) {
        trail.push([frame.v, w]);
        stack.push({ v: u, i: 0 });
      }
    }
    return false;
  };
  while (bfs()) {
    for (const v of nodes) if (!matchOf.has(v)) augment(v);
  }
  return matchOf;
}
