/**
 * Graph algorithms on a DAG given as dependency lists over node indices
 * `0..n-1` in topological order (every dependency index is smaller).
 */
export type Deps = ReadonlyArray<ReadonlyArray<number>>;

/** A fixed-size bitset; ancestor sets of 10,000 nodes stay near 12 MB. */
export class BitSet {
  readonly words: Uint32Array;
  constructor(readonly size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }
  add(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  orWith(other: BitSet): void {
    for (let w = 0; w < this.words.length; w++) this.words[w]! |= other.words[w]!;
  }
}

/** `ancestors[v]` holds every node with a path to `v`. */
export function ancestorSets(deps: Deps): BitSet[] {
  const sets: BitSet[] = [];
  for (let v = 0; v < deps.length; v++) {
    const set = new BitSet(deps.length);
    for (const d of deps[v]!) {
      set.orWith(sets[d]!);
      set.add(d);
    }
    sets.push(set);
  }
  return sets;
}

/** Drops every edge implied by a longer path; keeps the DAG's reachability. */
export function transitiveReduction(deps: Deps, ancestors: BitSet[] = ancestorSets(deps)): number[][] {
  return deps.map((ds) => ds.filter((d) => !ds.some((other) => other !== d && ancestors[other]!.has(d))));
}

/** Length of the longest path, weighting each node with `duration`, and one path achieving it. */
export function criticalPath(
  deps: Deps,
  duration: (node: number) => number,
): { length: number; path: number[] } {
  const finish = new Float64Array(deps.length);
  const via = new Int32Array(deps.length).fill(-1);
  let end = -1;
  for (let v = 0; v < deps.length; v++) {
    let start = 0;
    for (const d of deps[v]!) {
      if (finish[d]! > start) {
        start = finish[d]!;
        via[v] = d;
      }
    }
    finish[v] = start + duration(v);
    if (end < 0 || finish[v]! > finish[end]!) end = v;
  }
  const path: number[] = [];
  for (let v = end; v >= 0; v = via[v]!) path.push(v);
  return { length: end < 0 ? 0 : finish[end]!, path: path.reverse() };
}

/** Kahn's algorithm, taking ready nodes in their original order; returns undefined on a cycle. */
export function topologicalOrder(deps: Deps): number[] | undefined {
  const indegree = deps.map((ds) => ds.length);
  const dependents: number[][] = deps.map(() => []);
  deps.forEach((ds, v) => {
    for (const d of ds) dependents[d]!.push(v);
  });
  const ready = new MinHeap();
  indegree.forEach((deg, v) => {
    if (deg === 0) ready.push(v);
  });
  const order: number[] = [];
  while (ready.size > 0) {
    const v = ready.pop();
    order.push(v);
    for (const w of dependents[v]!) if (--indegree[w]! === 0) ready.push(w);
  }
  return order.length === deps.length ? order : undefined;
}

class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
