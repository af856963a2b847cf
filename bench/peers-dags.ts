// The DAGs bench/peers.ts runs through Ferry and its peers: each step a shell
// command that sleeps its duration and prints a JSON line.
import { criticalPath } from "@ferry/dsl-compiler";
import { randomDag, seededRandom } from "@ferry/dsl-compiler/testing";

export interface PeerDag {
  label: string;
  steps: Array<{ name: string; depends: string[]; command: string[]; seconds: number }>;
}

export function sleepStep(name: string, depends: string[], seconds: number): PeerDag["steps"][number] {
  return {
    name,
    depends,
    command: ["sh", "-c", `sleep ${seconds.toFixed(3)}; echo '{"step":"${name}"}'`],
    seconds: Number(seconds.toFixed(3)),
  };
}

/** Random 40–70-step DAGs with 50–100 ms steps, seeded so every run measures the same graphs. */
export function randomPeerDags(count: number, seed: number): PeerDag[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, k) => {
    const deps = randomDag(40 + Math.floor(random() * 31), random, { maxDeps: 3, window: 8 });
    return {
      label: `random #${k + 1}`,
      steps: deps.map((ds, v) =>
        sleepStep(
          `s${v}`,
          ds.map((d) => `s${d}`),
          0.05 + random() * 0.05,
        ),
      ),
    };
  });
}

/** Critical path and total work of a DAG, in seconds. */
export function bounds(dag: PeerDag): { criticalPathSeconds: number; workSeconds: number } {
  const index = new Map(dag.steps.map((s, i) => [s.name, i]));
  const deps = dag.steps.map((s) => s.depends.map((d) => index.get(d)!));
  return {
    criticalPathSeconds: criticalPath(deps, (v) => dag.steps[v]!.seconds).length,
    workSeconds: dag.steps.reduce((a, s) => a + s.seconds, 0),
  };
}
