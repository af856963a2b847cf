/**
 * Deterministic generators of workflow specs for property tests and
 * benchmarks. Not part of the public API.
 */
export function seededRandom(seed: number): () => number {
  // mulberry32: tiny, fast, good enough for test data.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG: each node picks up to `maxDeps` dependencies among the `window` nodes before it. */
export function randomDag(
  n: number,
  random: () => number,
  options: { maxDeps?: number; window?: number } = {},
): number[][] {
  const maxDeps = options.maxDeps ?? 3;
  const window = options.window ?? 8;
  return Array.from({ length: n }, (_, v) => {
    const count = v === 0 ? 0 : Math.floor(random() * (maxDeps + 1));
    const deps = new Set<number>();
    for (let k = 0; k < count; k++) deps.add(Math.max(0, v - 1 - Math.floor(random() * Math.min(window, v))));
    return [...deps].sort((a, b) => a - b);
  });
}

/** A JSON spec text whose steps are no-op processes on one edge site. */
export function specForDag(deps: number[][], options: { name?: string; command?: string[] } = {}): string {
  return JSON.stringify({
    name: options.name ?? "random",
    sites: { lab: { type: "edge" } },
    steps: deps.map((ds, v) => ({
      name: `s${v}`,
      site: "lab",
      depends: ds.map((d) => `s${d}`),
      process: { command: options.command ?? ["true"] },
    })),
  });
}

/**
 * `chains` chains of `length` steps, where every `every`-th step of a chain
 * also depends on the step two places back in the next chain: not
 * series-parallel, so the chains run as Parallel branches joined across
 * them. Node `i * chains + c` is step i of chain c (dependencies come first).
 */
export function braidDag(chains: number, length: number, every: number): number[][] {
  return Array.from({ length: chains * length }, (_, v) => {
    const c = v % chains;
    const i = Math.floor(v / chains);
    if (i === 0) return [];
    const deps = [v - chains];
    if (i >= 2 && i % every === 0) deps.push((i - 2) * chains + ((c + 1) % chains));
    return deps.sort((a, b) => a - b);
  });
}
