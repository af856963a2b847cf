// Edge agent figures: idle RSS, RSS at 16 concurrent steps, no-op process
// steps per second through the in-memory queue, worker-core overhead per step,
// and container overhead over a bare `docker run` of the same image.
// Run: npx tsx bench/agent.ts   (set FERRY_BENCH_DOCKER_SOCKET to use another engine)
// A/B against another checkout of Ferry (e.g. a worktree of an older commit, with node_modules):
//   npx tsx bench/agent.ts --baseline ../ferry-old [--rounds 7]
// runs the same probe (bench/agent-ab-probe.ts) on both sources, interleaved, and prints
// the median and spread of idle RSS and no-op step rate for each, and the difference.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs, promisify } from "node:util";
import type { Manifest } from "@ferry/dsl-compiler";
import {
  createWorker,
  DockerRuntime,
  InMemoryQueue,
  ProcessRuntime,
  RecordingCompletion,
  type Runtime,
  type RuntimeSet,
} from "@ferry/edge-agent";
import { manifestOf, stepMessage } from "@ferry/edge-agent/testing";
import Docker from "dockerode";
import { build } from "esbuild";

const run = promisify(execFile);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toFixed(d);

interface Figure {
  figure: string;
  rssMiB: number;
  running?: number;
}

async function probe(args: string[]): Promise<Figure[]> {
  const child = spawn(process.execPath, ["--expose-gc", ...args, "16"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c;
  });
  await new Promise((r) => child.once("close", r));
  return out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Figure);
}

async function memory(): Promise<void> {
  const source = join(import.meta.dirname, "agent-probe.ts");
  // As run from sources (tsx transpiling on the fly, the whole dsl-compiler loaded)…
  const dev = await probe(["--import", "tsx", source]);
  // …and as a device would run it: one bundled file on plain Node.
  const bundle = join(await mkdtemp(join(import.meta.dirname, ".agent-bundle-")), "probe.mjs");
  await build({
    entryPoints: [source],
    bundle: true,
    minify: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    logLevel: "error",
    external: ["dockerode", "ssh2", "cpu-features"],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  const bundled = await probe([bundle]);
  await rm(dirname(bundle), { recursive: true, force: true });
  for (const [label, figures] of [
    ["from sources under tsx", dev],
    ["as a device bundle (esbuild, minified), plain node", bundled],
  ] as const) {
    const idle = figures.find((f) => f.figure === "idle")!;
    const busy = figures.find((f) => f.figure === "busy")!;
    console.log(
      `RSS ${label}: idle ${fmt(idle.rssMiB)} MiB (goal ≤ 64 MiB), ${busy.running} steps running ${fmt(busy.rssMiB)} MiB`,
    );
  }
}

async function throughput(
  manifest: Manifest,
  runtimes: RuntimeSet,
  steps: number,
  concurrency: number,
): Promise<number> {
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();
  const worker = createWorker({
    queue,
    completion,
    manifests: [manifest],
    runtimes,
    concurrency,
    workDir: await mkdtemp(join(tmpdir(), "ferry-bench-")),
  });
  await worker.start();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++)
    queue.send(JSON.stringify(stepMessage({ workflow: manifest.workflow, step: "noop" })));
  await completion.waitFor(steps);
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop();
  const failed = completion.records.filter((r) => r.kind === "failure").length;
  if (failed > 0) throw new Error(`${failed} bench steps failed`);
  return steps / seconds;
}

async function rawSpawnRate(count: number, concurrency: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < count) {
        const child = spawn("true", [], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
        child.stdin.on("error", () => undefined);
        child.stdin.end("{}");
        await new Promise((r) => child.once("close", r));
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

async function processSteps(): Promise<void> {
  const manifest = manifestOf("bench", [
    { name: "noop", runtime: { kind: "process", command: ["true"], env: {} } },
  ]);
  const processRuntime = new ProcessRuntime();
  await throughput(manifest, { process: processRuntime }, 200, 8); // warm-up
  for (const concurrency of [8, 16]) {
    const rate = await throughput(manifest, { process: processRuntime }, 2000, concurrency);
    console.log(
      `no-op process steps/s, in-memory queue, concurrency ${concurrency}: ${fmt(rate, 0)}/s   (goal ≥ 500/s on ${cpus().length} cores)`,
    );
  }
  const raw = await rawSpawnRate(2000, 8);
  console.log(
    `  reference: bare child_process.spawn("true") on this machine: ${fmt(raw, 0)}/s (the ceiling for one Node process)`,
  );
  const instant: Runtime = {
    name: "instant",
    run: async () => ({
      exitCode: 0,
      stdout: "{}",
      stderr: "",
      stdoutBytes: 2,
      stderrBytes: 0,
      lastStdoutLine: "{}",
      aborted: false,
    }),
  };
  const core = await throughput(manifest, { process: instant }, 5000, 16);
  console.log(
    `worker-core overhead per step (runtime that returns at once): ${fmt(1000 / core, 3)} ms (${fmt(core, 0)} steps/s)`,
  );
}

async function containers(): Promise<void> {
  const socketPath = process.env.FERRY_BENCH_DOCKER_SOCKET ?? "/var/run/docker.sock";
  const image = process.env.FERRY_TEST_IMAGE ?? "ferry-test/busybox:1";
  try {
    await new Docker({ socketPath }).getImage(image).inspect();
  } catch (error) {
    console.log(
      `container overhead: skipped — no engine with ${image} at ${socketPath} (${(error as Error).message})`,
    );
    return;
  }
  const env = { ...process.env, DOCKER_HOST: `unix://${socketPath}` };
  const bare: number[] = [];
  const agent: number[] = [];
  const manifest = manifestOf("bench", [
    {
      name: "noop",
      runtime: { kind: "container", image, command: ["true"], env: {}, network: "none", volumes: [] },
    },
  ]);
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();
  const worker = createWorker({
    queue,
    completion,
    manifests: [manifest],
    runtimes: { container: new DockerRuntime({ socketPath, pullPolicy: "never" }) },
    concurrency: 1,
    workDir: await mkdtemp(join(tmpdir(), "ferry-bench-")),
  });
  await worker.start();
  const rounds = 15;
  for (let i = 0; i < rounds + 2; i++) {
    let t0 = performance.now();
    await run("docker", ["run", "--rm", "-i", "--network", "none", image, "true"], { env });
    if (i >= 2) bare.push(performance.now() - t0);
    t0 = performance.now();
    queue.send(JSON.stringify(stepMessage({ workflow: "bench", step: "noop" })));
    await completion.waitFor(i + 1);
    if (i >= 2) agent.push(performance.now() - t0);
  }
  await worker.stop();
  const overhead = median(agent) - median(bare);
  console.log(
    `container step p50: agent ${fmt(median(agent), 0)} ms vs bare \`docker run --rm -i --network none\` ${fmt(median(bare), 0)} ms → overhead ${overhead >= 0 ? "+" : ""}${fmt(overhead, 0)} ms   (goal ≤ +20 ms)`,
  );
}

async function abProbe(root: string, mode: "idle" | "rate"): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(import.meta.dirname, "agent-ab-probe.ts"), root, mode],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c;
  });
  const code = await new Promise((r) => child.once("close", r));
  if (code !== 0) throw new Error(`the ${mode} probe of ${root} exited with ${code}`);
  const figure = JSON.parse(out.trim().split("\n").at(-1)!) as { rssMiB?: number; stepsPerSecond?: number };
  return mode === "idle" ? figure.rssMiB! : figure.stepsPerSecond!;
}

/** Idle RSS and no-op step rate of this checkout against `baseline`, interleaved round by round (the machine may be shared). */
async function compareWith(baseline: string, rounds: number): Promise<void> {
  const here = join(import.meta.dirname, "..");
  const sides = { current: here, baseline } as const;
  const figures = {
    idle: { current: [] as number[], baseline: [] as number[] },
    rate: { current: [] as number[], baseline: [] as number[] },
  };
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so a drift in machine load hits both alike.
    const order = round % 2 === 0 ? (["current", "baseline"] as const) : (["baseline", "current"] as const);
    for (const mode of ["idle", "rate"] as const)
      for (const side of order) figures[mode][side].push(await abProbe(sides[side], mode));
  }
  const spread = (xs: number[], d: number) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;
  console.log(`A/B over ${rounds} rounds, this checkout vs ${baseline} (median, [min–max]):`);
  const idle = figures.idle;
  const idleDelta = median(idle.current) - median(idle.baseline);
  console.log(
    `  idle RSS: ${fmt(median(idle.current))} MiB [${spread(idle.current, 1)}] vs ${fmt(median(idle.baseline))} MiB [${spread(idle.baseline, 1)}] → ${idleDelta >= 0 ? "+" : ""}${fmt(idleDelta, 2)} MiB   (goal ≤ +2 MiB)`,
  );
  const rate = figures.rate;
  const rateDelta = (median(rate.current) / median(rate.baseline) - 1) * 100;
  console.log(
    `  no-op process steps/s (concurrency 8): ${fmt(median(rate.current), 0)} [${spread(rate.current, 0)}] vs ${fmt(median(rate.baseline), 0)} [${spread(rate.baseline, 0)}] → ${rateDelta >= 0 ? "+" : ""}${fmt(rateDelta, 1)}%   (goal ≥ −5%)`,
  );
  console.log(`  every run: ${JSON.stringify(figures)}`);
}

const { values: flags } = parseArgs({
  options: { baseline: { type: "string" }, rounds: { type: "string", default: "7" } },
});
console.log(`Ferry edge agent benchmark — Node ${process.version}, ${cpus().length} cores`);
if (flags.baseline) {
  await compareWith(flags.baseline, Number(flags.rounds));
} else {
  await memory();
  await processSteps();
  await containers();
}
