// The ASL interpreter of `ferry run` alone: a compiled workflow run by
// runCompiledWorkflow with step handlers that answer at once, so the time is
// the interpreter's own (state transitions, JSONPath, copies, joins). Per step,
// for a 1,000-step chain, random 50-step DAGs (non-series-parallel, so joins)
// and a 1,000-step random DAG. With --baseline <checkout>, that checkout's
// interpreter runs in the same rounds; runners take turns, each run is its own
// process, each figure is the median of --rounds runs.
//   npx tsx bench/interpreter.ts [--rounds 3] [--baseline ../main]
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    baseline: { type: "string" },
    root: { type: "string" },
    shape: { type: "string" },
  },
});
const SHAPES = ["chain-1000", "random-50", "random-1000"];

if (values.root) {
  // One measurement, in this process, of the checkout at --root.
  const root = resolve(values.root);
  const compiler = (await import(
    join(root, "dsl-compiler/src/index.ts")
  )) as typeof import("@ferry/dsl-compiler");
  const testing = (await import(
    join(root, "dsl-compiler/src/testing/index.ts")
  )) as typeof import("@ferry/dsl-compiler/testing");
  const { runCompiledWorkflow } = (await import(
    join(root, "dsl-compiler/src/interpreter/index.ts")
  )) as typeof import("@ferry/dsl-compiler/interpreter");
  const dags: number[][][] =
    values.shape === "chain-1000"
      ? [Array.from({ length: 1000 }, (_, i) => (i ? [i - 1] : []))]
      : values.shape === "random-50"
        ? Array.from({ length: 5 }, (_, k) =>
            testing.randomDag(50, testing.seededRandom(2026 + k), { maxDeps: 3, window: 8 }),
          )
        : [testing.randomDag(1000, testing.seededRandom(2026), { maxDeps: 3, window: 8 })];
  let steps = 0;
  let ms = 0;
  for (const deps of dags) {
    const { compiled } = compiler.compileSpec(testing.specForDag(deps));
    if (!compiled) throw new Error("bench spec invalid");
    const t0 = performance.now();
    await runCompiledWorkflow(
      compiled,
      {},
      {
        runStep: async (message) => ({ step: message.step }),
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    ms += performance.now() - t0;
    steps += deps.length;
  }
  process.stdout.write(`${JSON.stringify({ msPerStep: ms / steps })}\n`);
} else {
  const roots: Array<[string, string]> = [["this checkout", ROOT]];
  if (values.baseline) roots.push(["baseline", resolve(values.baseline)]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const got = new Map<string, number[]>();
  for (let round = 0; round < Number(values.rounds); round++)
    for (const shape of SHAPES)
      for (let i = 0; i < roots.length; i++) {
        const [label, root] = roots[(i + round) % roots.length]!;
        const out = execFileSync(
          TSX,
          [join(ROOT, "bench", "interpreter.ts"), "--root", root, "--shape", shape],
          { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
        );
        const { msPerStep } = JSON.parse(out.trim().split("\n").pop()!) as { msPerStep: number };
        got.set(`${shape}|${label}`, [...(got.get(`${shape}|${label}`) ?? []), msPerStep]);
        process.stderr.write(`${shape} (${label}): ${msPerStep.toFixed(3)} ms/step\n`);
      }
  console.log(`interpreter ms per step, median of ${values.rounds} rounds`);
  console.log(`${"shape".padEnd(14)}${roots.map(([l]) => l.padStart(15)).join("")}`);
  for (const shape of SHAPES)
    console.log(
      `${shape.padEnd(14)}${roots
        .map(([l]) =>
          median(got.get(`${shape}|${l}`)!)
            .toFixed(3)
            .padStart(15),
        )
        .join("")}`,
    );
}
