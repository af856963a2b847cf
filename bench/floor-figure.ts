// One figure of bench/floor.ts, measured on the checkout given by --root, printed as JSON.
//   npx tsx bench/floor-figure.ts --root . --figure chain|wide|agent|compile
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { root: { type: "string", default: "." }, figure: { type: "string" } },
});
const root = resolve(values.root!);
// The checkout's own packages, so one script measures main and a branch alike.
const compiler = (await import(
  join(root, "dsl-compiler/src/index.ts")
)) as typeof import("@ferry/dsl-compiler");
const testing = (await import(
  join(root, "dsl-compiler/src/testing/index.ts")
)) as typeof import("@ferry/dsl-compiler/testing");
const projectDir = mkdtempSync(join(tmpdir(), "ferry-bench-floor-"));
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function compile(deps: number[][], command = ["true"]) {
  const { compiled, diagnostics } = compiler.compileSpec(testing.specForDag(deps, { command }));
  if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
  return compiled;
}

async function runIt(deps: number[][], concurrency: number) {
  const { runWorkflow } = (await import(
    join(root, "edge-agent/src/local-run/index.ts")
  )) as typeof import("@ferry/edge-agent/local-run");
  const compiled = compile(deps);
  const t0 = performance.now();
  const run = await runWorkflow(compiled, { specFile: "floor", projectDir, input: {}, concurrency });
  const ms = performance.now() - t0;
  if (run.record.status !== "SUCCEEDED") throw new Error(`run ${run.record.status}`);
  return { run, ms };
}

let figures: Record<string, number>;
switch (values.figure) {
  case "chain": {
    // What one step minimally costs: an async spawn of `true` in its own group, with pipes, awaited to exit.
    const spawnMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await new Promise((r) => spawn("true", [], { stdio: "pipe", detached: true }).on("close", r));
      spawnMs.push(performance.now() - t0);
    }
    const n = 1000;
    const { run, ms } = await runIt(
      Array.from({ length: n }, (_, i) => (i ? [i - 1] : [])),
      1,
    );
    const starts = run.record.steps.map((s) => Date.parse(s.startedAt!));
    const spacing = starts.slice(1).map((t, i) => t - starts[i]!);
    figures = {
      spawnP50Ms: p50(spawnMs),
      spacingP50Ms: p50(spacing),
      overheadP50Ms: p50(spacing) - p50(spawnMs),
      overheadMeanMs: ms / n - p50(spawnMs),
    };
    break;
  }
  case "wide": {
    const { ms } = await runIt(
      Array.from({ length: 1000 }, () => []),
      64,
    );
    figures = { stepsPerSecond: 1000 / (ms / 1000) };
    break;
  }
  case "agent": {
    const agent = (await import(join(root, "edge-agent/src/index.ts"))) as typeof import("@ferry/edge-agent");
    const fixtures = (await import(
      join(root, "edge-agent/src/testing/index.ts")
    )) as typeof import("@ferry/edge-agent/testing");
    const manifest = fixtures.manifestOf("bench", [
      { name: "noop", runtime: { kind: "process", command: ["true"], env: {} } },
    ]);
    const runtime = new agent.ProcessRuntime();
    const rate = async (steps: number, concurrency: number) => {
      const queue = new agent.InMemoryQueue();
      const completion = new agent.RecordingCompletion();
      const worker = agent.createWorker({
        queue,
        completion,
        manifests: [manifest],
        runtimes: { process: runtime },
        concurrency,
        workDir: mkdtempSync(join(projectDir, "work-")),
      });
      await worker.start();
      const t0 = performance.now();
      for (let i = 0; i < steps; i++)
        queue.send(JSON.stringify(fixtures.stepMessage({ workflow: "bench", step: "noop" })));
      await completion.waitFor(steps);
      const seconds = (performance.now() - t0) / 1000;
      await worker.stop();
      return steps / seconds;
    };
    await rate(200, 16);
    figures = { stepsPerSecond16: await rate(2000, 16), stepsPerSecond64: await rate(2000, 64) };
    await runtime.close?.();
    break;
  }
  case "compile": {
    const deps = testing.randomDag(10_000, testing.seededRandom(10_000), { maxDeps: 3, window: 10 });
    const text = testing.specForDag(deps, { name: "bench-10000" });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      if (!compiler.compileSpec(text).compiled) throw new Error("bench spec invalid");
      times.push(performance.now() - t0);
    }
    figures = { compileP50Ms: p50(times) };
    break;
  }
  default:
    throw new Error(`--figure chain|wide|agent|compile, got ${values.figure}`);
}
rmSync(projectDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(figures)}\n`);
