// The floor figures of `ferry run` and the agent, for this checkout and, with
// --baseline <checkout>, for that one in the same rounds (the runners take
// turns, each figure is the median of --rounds runs, each run its own process):
//   - per-step overhead above an async spawn of `true`, 1,000-step chain (p50 on the run record's ms clock, and mean);
//   - 1,000 independent no-op process steps at concurrency 64, steps/s through `ferry run`;
//   - agent no-op process steps/s through the in-memory queue, concurrency 16 and 64;
//   - compile (validate + IR + ASL) of a 10,000-step random DAG;
//   - `ferry validate examples/hello/workflow.yaml`, whole process, against `node -e 0`.
//   npx tsx bench/floor.ts [--rounds 3] [--baseline ../main] [--figure chain ...]
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    baseline: { type: "string" },
    figure: { type: "string", multiple: true, default: ["chain", "wide", "agent", "compile", "validate"] },
  },
});
const roots: Array<[string, string]> = [["this checkout", ROOT]];
if (values.baseline) roots.push(["baseline", resolve(values.baseline)]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function wallMs(program: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  execFileSync(program, args, { cwd, stdio: "ignore" });
  return performance.now() - t0;
}

function measure(figure: string, root: string): Record<string, number> {
  if (figure === "validate") {
    const validate = median(
      Array.from({ length: 5 }, () =>
        wallMs(
          process.execPath,
          [join(root, "cli/bin/ferry.js"), "validate", "examples/hello/workflow.yaml"],
          root,
        ),
      ),
    );
    const bare = median(Array.from({ length: 5 }, () => wallMs(process.execPath, ["-e", "0"], root)));
    return { validateMs: validate, nodeMs: bare, ratio: validate / bare };
  }
  const out = execFileSync(
    TSX,
    [join(ROOT, "bench", "floor-figure.ts"), "--root", root, "--figure", figure],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>;
}

const results = new Map<string, Record<string, number[]>>();
for (let round = 0; round < Number(values.rounds); round++)
  for (const figure of values.figure!)
    for (let i = 0; i < roots.length; i++) {
      const [label, root] = roots[(i + round) % roots.length]!;
      const key = `${figure}|${label}`;
      const got = measure(figure, root);
      const into = results.get(key) ?? {};
      for (const [name, value] of Object.entries(got)) into[name] = [...(into[name] ?? []), value];
      results.set(key, into);
      process.stderr.write(`${figure} (${label}): ${JSON.stringify(got)}\n`);
    }

console.log(`median of ${values.rounds} rounds`);
console.log(`figure                ${roots.map(([l]) => l.padStart(14)).join("")}`);
for (const figure of values.figure!) {
  const names = Object.keys(results.get(`${figure}|${roots[0]![0]}`) ?? {});
  for (const name of names)
    console.log(
      `${`${figure}.${name}`.padEnd(30)}${roots
        .map(([l]) =>
          median(results.get(`${figure}|${l}`)![name]!)
            .toFixed(2)
            .padStart(14),
        )
        .join("")}`,
    );
}
