// Ferry's embedded runtime beside Dask's local (threaded) scheduler, on the same
// generated DAGs whose steps are `sh -c "sleep …; echo …"` processes:
//   - random 40–70-step DAGs with 50–100 ms steps at concurrency 8;
//   - a ~1,000-task Montage instance from the wfcommons recipes, sleep-scaled to
//     ~36 ms steps on average, at concurrency 64.
// Every run is its own process (`bench/peers-ferry.ts`, `bench/peers-dask.py`), the
// runners take turns, and each figure is the median of --rounds runs. With
// --baseline <checkout> Ferry of that checkout runs too, in the same rounds.
// Dask is pinned in bench/peers-requirements.txt and installed on first use into
// the project-local virtualenv .venv/peers.
//   npx tsx bench/peers.ts [--dags 5] [--rounds 3] [--tasks 1000] [--baseline ../main]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { importWfCommons, parseWfInstance } from "@ferry/simulator";
import { bounds, type PeerDag, randomPeerDags, sleepStep } from "./peers-dags.ts";
import { wfCommonsInstance } from "./wfcommons-instance.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const VENV = join(ROOT, ".venv", "peers");
const PYTHON = join(VENV, "bin", "python");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

const { values } = parseArgs({
  options: {
    dags: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    tasks: { type: "string", default: "1000" },
    "step-ms": { type: "string", default: "36" },
    seed: { type: "string", default: "2026" },
    baseline: { type: "string" },
    skip: { type: "string", multiple: true, default: [] },
  },
});
const rounds = Number(values.rounds);

function ensureDask(): void {
  if (existsSync(PYTHON)) return;
  process.stderr.write("installing the peers of bench/peers-requirements.txt into .venv/peers …\n");
  execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  execFileSync(
    join(VENV, "bin", "pip"),
    ["install", "--quiet", "-r", join(ROOT, "bench", "peers-requirements.txt")],
    {
      stdio: "inherit",
    },
  );
}

/** The Montage instance's DAG with each task sleeping its recorded runtime, scaled to a mean of `stepMs`. */
function wfcommonsDag(tasks: number, stepMs: number): PeerDag {
  const { instance, diagnostics } = parseWfInstance(
    readFileSync(wfCommonsInstance("montage", tasks), "utf8"),
  );
  if (!instance) throw new Error(`cannot read the instance: ${JSON.stringify(diagnostics[0])}`);
  const names = importWfCommons(instance).names;
  const runtimes = new Map(
    (instance.workflow.execution?.tasks ?? []).map((t) => [t.id, t.runtimeInSeconds ?? 0]),
  );
  const specTasks = instance.workflow.specification.tasks;
  const mean = specTasks.reduce((a, t) => a + (runtimes.get(t.id) ?? 0), 0) / specTasks.length;
  const scale = stepMs / 1000 / mean;
  return {
    label: `montage, ${specTasks.length} tasks`,
    steps: specTasks.map((t) =>
      sleepStep(
        names.get(t.id)!,
        t.parents.map((p) => names.get(p)!),
        (runtimes.get(t.id) ?? 0) * scale,
      ),
    ),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Runner {
  name: string;
  run(dagFile: string, concurrency: number): number;
}
const runners: Runner[] = [
  {
    name: "ferry",
    run: (dag, c) =>
      makespan(TSX, [
        join(ROOT, "bench", "peers-ferry.ts"),
        "--root",
        ROOT,
        "--dag",
        dag,
        "--concurrency",
        String(c),
      ]),
  },
];
if (values.baseline) {
  const base = resolve(values.baseline);
  runners.push({
    name: "ferry (baseline)",
    run: (dag, c) =>
      makespan(TSX, [
        join(ROOT, "bench", "peers-ferry.ts"),
        "--root",
        base,
        "--dag",
        dag,
        "--concurrency",
        String(c),
      ]),
  });
}
ensureDask();
runners.push({
  name: "dask",
  run: (dag, c) =>
    makespan(PYTHON, [join(ROOT, "bench", "peers-dask.py"), "--dag", dag, "--workers", String(c)]),
});

function makespan(program: string, args: string[]): number {
  const out = execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return (JSON.parse(out.trim().split("\n").pop()!) as { makespanMs: number }).makespanMs / 1000;
}

const dir = join(ROOT, ".ferry", "bench", "peers");
mkdirSync(dir, { recursive: true });
const cases: Array<{ dag: PeerDag; concurrency: number }> = [];
if (!values.skip!.includes("random"))
  for (const dag of randomPeerDags(Number(values.dags), Number(values.seed)))
    cases.push({ dag, concurrency: 8 });
if (!values.skip!.includes("wfcommons"))
  cases.push({ dag: wfcommonsDag(Number(values.tasks), Number(values["step-ms"])), concurrency: 64 });

const header = [
  "DAG",
  "steps",
  "slots",
  "crit.path",
  "work/slots",
  ...runners.flatMap((r) => [r.name, "/cp", "/bound"]),
];
const rows: string[][] = [header];
const ratios = new Map<string, number[]>();
for (const [k, { dag, concurrency }] of cases.entries()) {
  const file = join(dir, `dag-${k}.json`);
  writeFileSync(file, JSON.stringify(dag));
  const { criticalPathSeconds: cp, workSeconds } = bounds(dag);
  const bound = Math.max(cp, workSeconds / concurrency);
  const times = new Map(runners.map((r) => [r.name, [] as number[]]));
  for (let round = 0; round < rounds; round++)
    // Take turns, starting with a different runner each round, so drifting load hits all alike.
    for (let i = 0; i < runners.length; i++) {
      const runner = runners[(i + round) % runners.length]!;
      times.get(runner.name)!.push(runner.run(file, concurrency));
    }
  const row = [
    dag.label,
    String(dag.steps.length),
    String(concurrency),
    cp.toFixed(2),
    (workSeconds / concurrency).toFixed(2),
  ];
  for (const r of runners) {
    const m = median(times.get(r.name)!);
    row.push(m.toFixed(2), (m / cp).toFixed(3), (m / bound).toFixed(3));
    const key = `${r.name}|${concurrency === 8 ? "random" : "wfcommons"}`;
    ratios.set(key, [...(ratios.get(key) ?? []), m / bound]);
  }
  rows.push(row);
  process.stderr.write(
    `${dag.label}: ${runners
      .map(
        (r) =>
          `${r.name} ${times
            .get(r.name)!
            .map((t) => t.toFixed(2))
            .join("/")}`,
      )
      .join(", ")}\n`,
  );
}
const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows)
  process.stdout.write(
    `${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`,
  );
process.stdout.write(
  `\nmedian of ${rounds} runs each; /cp = makespan / critical path, /bound = makespan / max(critical path, work/slots)\n`,
);
for (const kind of ["random", "wfcommons"]) {
  const ferry = ratios.get(`ferry|${kind}`);
  if (!ferry) continue;
  const parts = runners.map((r) => `${r.name} ${median(ratios.get(`${r.name}|${kind}`)!).toFixed(3)}`);
  const dask = median(ratios.get(`dask|${kind}`)!);
  process.stdout.write(
    `${kind}: median /bound ${parts.join(", ")}; ferry / dask ×${(median(ferry) / dask).toFixed(3)}\n`,
  );
}
