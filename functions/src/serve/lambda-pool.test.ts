import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LambdaFunctionPool, type LambdaFunctionSpec } from "./lambda-pool.ts";

// A bundle as Ferry's esbuild step emits it: ESM, the AWS SDK left to the runtime.
const BUNDLE = `
import { SFNClient } from "@aws-sdk/client-sfn";
const coldPid = process.pid;
export const handler = async (event, context) => {
  const { op, ms, mib } = JSON.parse(event.Records[0].body);
  if (op === "sleep") await new Promise((r) => setTimeout(r, ms));
  if (op === "throw") throw new TypeError("bad record");
  if (op === "hog") { const keep = []; for (;;) keep.push(new Array(1 << 20).fill(mib)); }
  if (op === "exit") process.exit(3);
  return {
    batchItemFailures: [],
    pid: coldPid,
    sdk: typeof SFNClient,
    env: process.env.MY_SETTING,
    remaining: context.getRemainingTimeInMillis(),
    memory: context.memoryLimitInMB,
  };
};
`;

const pools: LambdaFunctionPool[] = [];
afterEach(async () => {
  ready = [];
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

let ready: Array<{ initMs: number; modules: Array<{ path: string; sha256: string }> }> = [];

function pool(overrides: Partial<LambdaFunctionSpec> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "ferry-asset-"));
  writeFileSync(join(dir, "index.mjs"), BUNDLE);
  const p = new LambdaFunctionPool(
    {
      name: "hello-load",
      moduleFile: join(dir, "index.mjs"),
      exportName: "handler",
      timeoutSeconds: 5,
      memoryMiB: 128,
      environment: { PATH: process.env.PATH ?? "", MY_SETTING: "on", LAMBDA_TASK_ROOT: dir },
      ...overrides,
    },
    { onReady: (info) => ready.push(info) },
  );
  pools.push(p);
  return p;
}
const event = (body: unknown) => ({ Records: [{ messageId: "m1", body: JSON.stringify(body) }] });

describe("LambdaFunctionPool", () => {
  it("given a bundle outside Ferry's folder, when invoked twice, then the SDK resolves from Ferry's install and the warm environment is reused", async () => {
    const p = pool();
    const first = await p.invoke(event({ op: "ok" }));
    expect(p.lastReport?.coldStart).toBe(true);
    const second = await p.invoke(event({ op: "ok" }));
    expect(p.lastReport?.coldStart).toBe(false);
    expect(first).toMatchObject({
      kind: "response",
      response: { sdk: "function", env: "on", memory: "128" },
    });
    const r1 = (first as { response: { pid: number; remaining: number } }).response;
    const r2 = (second as { response: { pid: number } }).response;
    expect(r2.pid).toBe(r1.pid);
    expect(r1.remaining).toBeGreaterThan(0);
    expect(r1.remaining).toBeLessThanOrEqual(5000);
    // What the environment loaded from its code folder: the bundle, byte for byte.
    expect(ready).toHaveLength(1);
    expect(ready[0]!.modules).toEqual([
      {
        path: "index.mjs",
        sha256: createHash("sha256").update(BUNDLE).digest("hex"),
        bytes: Buffer.byteLength(BUNDLE),
      },
    ]);
  });

  it("given a handler past the timeout, when invoked, then it is stopped as Lambda reports it and the next invocation starts cold", async () => {
    const p = pool({ timeoutSeconds: 1 });
    expect(await p.invoke(event({ op: "sleep", ms: 5000 }))).toEqual({
      kind: "error",
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 1.00 seconds",
    });
    await p.invoke(event({ op: "ok" }));
    expect(p.lastReport?.coldStart).toBe(true);
  });

  it("given a handler that outgrows the memory size, when invoked, then it fails with Runtime.OutOfMemory", async () => {
    const outcome = await pool({ memoryMiB: 64, timeoutSeconds: 60 }).invoke(event({ op: "hog", mib: 1 }));
    expect(outcome).toMatchObject({ kind: "error", errorType: "Runtime.OutOfMemory" });
  });

  it("given a handler that throws or exits, when invoked, then the function error names it", async () => {
    const p = pool();
    expect(await p.invoke(event({ op: "throw" }))).toEqual({
      kind: "error",
      errorType: "TypeError",
      errorMessage: "bad record",
    });
    expect(await p.invoke(event({ op: "exit" }))).toMatchObject({
      kind: "error",
      errorType: "Runtime.ExitError",
      errorMessage: expect.stringContaining("exit status 3"),
    });
  });

  it("given a handler name the bundle lacks, when invoked, then init fails", async () => {
    expect(await pool({ exportName: "nope" }).invoke(event({ op: "ok" }))).toMatchObject({
      kind: "error",
      errorType: "Runtime.HandlerNotFound",
    });
  });
});
