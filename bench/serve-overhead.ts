// Per-invocation cost of `ferry functions serve`'s execution environments
// against the in-process call it replaced (the host used to call the SQS
// adapter in its own process). Both run the same Lambda bundle, built by
// the construct's own bundler from functions/examples/load.ts, on an event
// whose one record names another step: the adapter rejects it without any
// AWS call, so the figures are the invocation path alone.
// Run: npx tsx bench/serve-overhead.ts [invocations]
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { LambdaFunctionPool } from "../functions/src/serve/lambda-pool.ts";
import { StepBundler } from "../infra/src/private/bundle-step.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const runs = Number(process.argv[2] ?? 300);
const env = { FERRY_WORKFLOW: "bench", FERRY_STEP: "load", AWS_REGION: "us-east-1" };
const event = {
  Records: [{ messageId: "m1", body: '{"v":1}', attributes: { ApproximateReceiveCount: "1" } }],
};
const context = { getRemainingTimeInMillis: () => 60_000 };

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { medianMs: +at(0.5).toFixed(3), p95Ms: +at(0.95).toFixed(3), n: samples.length };
}

const bundler = new StepBundler(root);
const code = bundler.code(new Stack(new App(), "ServeBench"), {
  file: "functions/examples/load.ts",
  exportName: "handler",
});
const assetDir = (code as unknown as { path: string }).path;
const moduleFile = join(assetDir, "index.mjs");
// The in-process copy sits inside the checkout, where the AWS SDK the bundle leaves out resolves.
const inRepo = mkdtempSync(join(root, "bench", ".serve-overhead-"));
copyFileSync(moduleFile, join(inRepo, "index.mjs"));
// The adapter logs each rejected record on stdout; the figures go to stderr.
const print = (figure: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(figure)}\n`);

try {
  // Before: the adapter called in the host's own process.
  Object.assign(process.env, env);
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const { handler } = (await import(pathToFileURL(join(inRepo, "index.mjs")).href)) as {
    handler: (e: unknown, c: unknown) => Promise<unknown>;
  };
  const inProcess: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await handler(event, context);
    inProcess.push(performance.now() - t);
  }
  process.stdout.write = stdoutWrite;
  print({ figure: "in-process invocation (before)", ...stats(inProcess.slice(10)) });

  // Now: an execution environment (its own Node process) per function, as on Lambda.
  const pool = new LambdaFunctionPool(
    {
      name: "bench-load",
      moduleFile,
      exportName: "handler",
      timeoutSeconds: 60,
      memoryMiB: 512,
      environment: { ...env, PATH: process.env.PATH ?? "", LAMBDA_TASK_ROOT: assetDir },
    },
    { onLog: () => {} },
  );
  const cold: number[] = [];
  const init: number[] = [];
  for (let i = 0; i < 5; i++) {
    const fresh = new LambdaFunctionPool(pool.spec, {
      onLog: () => {},
      onReady: ({ initMs }) => init.push(initMs),
    });
    const t = performance.now();
    await fresh.invoke(event);
    cold.push(performance.now() - t);
    await fresh.close();
  }
  print({ figure: "cold start: spawn, import bundle, first invocation", ...stats(cold) });
  print({ figure: "of which bundle import (init) in the environment", ...stats(init) });
  await pool.invoke(event);
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await pool.invoke(event);
    warm.push(performance.now() - t);
  }
  await pool.close();
  const warmStats = stats(warm.slice(10));
  print({ figure: "warm invocation in an environment (now)", ...warmStats });
  print({
    figure: "overhead per warm invocation",
    medianMs: +(warmStats.medianMs - stats(inProcess.slice(10)).medianMs).toFixed(3),
  });
} finally {
  bundler.cleanup();
  rmSync(assetDir, { recursive: true, force: true });
  rmSync(inRepo, { recursive: true, force: true });
}
