import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingCompletion } from "../in-memory/completions.ts";
import { InMemoryQueue } from "../in-memory/in-memory-queue.ts";
import { manifestOf, stepMessage, type TestStep } from "../testing/fixtures.ts";
import { createWorker, type Worker } from "../worker.ts";
import { FunctionRuntime } from "./function.ts";

function fn(name: string, file: string, exportName = "handler", extra: Partial<TestStep> = {}): TestStep {
  return {
    name,
    runtime: { kind: "function", handler: `${file}#${exportName}`, file, exportName, env: {} },
    ...extra,
  };
}

describe("FunctionRuntime", () => {
  let worker: Worker;
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();

  beforeAll(async () => {
    const project = await mkdtemp(join(tmpdir(), "ferry-fn-"));
    await writeFile(
      join(project, "ok.ts"),
      `export async function handler(input: { input: { n: number } }, ctx: { step: string; attempt: number; jobDir: string; jobFiles: object; signal: AbortSignal }): Promise<object> {
        console.log("logging does not disturb the output");
        return { doubled: input.input.n * 2, step: ctx.step, attempt: ctx.attempt, hasJobDir: typeof ctx.jobDir === "string", jobFiles: ctx.jobFiles, signal: ctx.signal instanceof AbortSignal };
      }\n`,
    );
    await writeFile(
      join(project, "throws.ts"),
      `class DataMissing extends Error { override name = "DataMissing"; }
      export function handler(): never { throw new DataMissing("no rows for 2024-01-01"); }\n`,
    );
    await writeFile(
      join(project, "slow.mjs"),
      "export const handler = () => new Promise(() => setInterval(() => {}, 1000));\n",
    );
    worker = createWorker({
      queue,
      completion,
      manifests: [
        manifestOf("fn", [
          fn("ok", "ok.ts"),
          fn("throws", "throws.ts"),
          fn("missing", "ok.ts", "nope"),
          fn("slow", "slow.mjs", "handler", { timeoutSeconds: 1 }),
        ]),
      ],
      runtimes: { function: new FunctionRuntime({ projectDir: project, killGraceMs: 200 }) },
      workDir: join(project, ".work"),
    });
    await worker.start();
  });
  afterAll(() => worker.stop({ graceMs: 0 }));

  async function run(step: string, input: unknown = {}) {
    const message = stepMessage({ workflow: "fn", step, input: { input, deps: {} } });
    queue.send(JSON.stringify(message));
    while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 10));
    return completion.forToken(message.token)[0]!;
  }

  it("given a TypeScript handler, then its return value is the output", async () => {
    expect(await run("ok", { n: 21 })).toEqual(
      expect.objectContaining({
        kind: "success",
        output: expect.objectContaining({
          doubled: 42,
          step: "ok",
          attempt: 1,
          hasJobDir: true,
          signal: true,
        }),
      }),
    );
  });

  it("given any handler, then it gets the one handler context the Lambda adapter gives (jobFiles included)", async () => {
    const record = (await run("ok", { n: 1 })) as { output: { jobFiles: unknown } };
    expect(record.output.jobFiles).toEqual(stepMessage({ workflow: "fn", step: "ok" }).jobFiles);
  });

  it("given a handler throwing a named error, then that name reaches Step Functions", async () => {
    const record = await run("throws");
    expect(record).toMatchObject({ kind: "failure", error: "DataMissing" });
    expect((record as { cause: string }).cause).toContain("no rows for 2024-01-01");
  });

  it("given a missing export, then it fails as Ferry.NonRetriable naming the exports", async () => {
    const record = await run("missing");
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
    expect((record as { cause: string }).cause).toContain('no exported function "nope"');
  });

  it("given a handler that never returns, then it is stopped at its timeout", async () => {
    expect(await run("slow")).toMatchObject({ kind: "failure", error: FERRY_ERRORS.timeout });
  });
});
