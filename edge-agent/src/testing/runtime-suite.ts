import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttemptFinished } from "../events.ts";
import { RecordingCompletion } from "../in-memory/completions.ts";
import { InMemoryQueue } from "../in-memory/in-memory-queue.ts";
import { LocalJobFileStore } from "../local-job-files.ts";
import type { Runtime } from "../runtimes/runtime.ts";
import { createWorker, type RuntimeSet, type Worker, type WorkerOptions } from "../worker.ts";
import { manifestOf, stepMessage, type TestStep } from "./fixtures.ts";

export interface RuntimeSuiteOptions {
  /** Which step kind the runtime serves. */
  kind: "process" | "container";
  runtime: () => Runtime | Promise<Runtime>;
  /** A step running `sh -c script` on this runtime. */
  shStep(name: string, script: string, extra?: Partial<TestStep>): TestStep;
  /** Folder the suite's work and job-file folders go in. @default a new temporary folder */
  root?: () => Promise<string>;
  /** More worker options (e.g. the `stepUser` the runtime runs steps as). */
  worker?: () => Partial<WorkerOptions>;
}

/**
 * The step contract every command runtime honours (process, docker,
 * podman): one suite, run against each implementation.
 */
export function describeRuntimeContract(name: string, options: RuntimeSuiteOptions): void {
  describe(`${name} runtime contract`, () => {
    const sh = options.shStep;
    const steps = [
      sh(
        "echo",
        'read -r line; printf \'{"stdin":%s,"file":%s,"step":"%s"}\\n\' "$line" "$(cat "$FERRY_INPUT_FILE")" "$FERRY_STEP"',
      ),
      sh("file", 'echo \'{"from":"file"}\' > "$FERRY_JOB_DIR/.output.json"; echo not-json'),
      sh("fail", "echo going down >&2; exit 7"),
      sh("files", 'tr a-z A-Z < "$FERRY_JOB_DIR/in.txt" > "$FERRY_JOB_DIR/out.txt"', {
        inputs: ["in.txt"],
        outputs: ["out.txt"],
      }),
      sh("slow", "sleep 30", { timeoutSeconds: 1 }),
      sh("env", 'echo "{\\"greeting\\":\\"$GREETING\\"}"', {}),
      sh(
        "chatty",
        "i=0; while [ $i -lt 2000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo '{\"n\":2000}'",
      ),
    ];
    const envStep = steps[5]!;
    if (envStep.runtime.kind === "process" || envStep.runtime.kind === "container")
      envStep.runtime.env = { GREETING: "hej" };

    let worker: Worker;
    let queue: InMemoryQueue;
    let completion: RecordingCompletion;
    let store: LocalJobFileStore;
    const finished: AttemptFinished[] = [];

    beforeAll(async () => {
      const root = options.root
        ? await options.root()
        : await mkdtemp(join(tmpdir(), "ferry-runtime-suite-"));
      queue = new InMemoryQueue();
      completion = new RecordingCompletion();
      store = new LocalJobFileStore(join(root, "files"));
      const runtimes: RuntimeSet = { [options.kind]: await options.runtime() };
      worker = createWorker({
        queue,
        completion,
        manifests: [manifestOf("suite", steps)],
        runtimes,
        jobFiles: store,
        workDir: join(root, "work"),
        concurrency: 4,
        logCapBytes: 4096,
        hooks: { onAttemptFinished: (a) => finished.push(a) },
        ...options.worker?.(),
      });
      await worker.start();
    });
    afterAll(async () => {
      await worker?.stop({ graceMs: 0 });
    });

    async function run(step: string, fields: Parameters<typeof stepMessage>[0] | object = {}) {
      const message = stepMessage({ workflow: "suite", step, ...fields });
      queue.send(JSON.stringify(message));
      await until(
        () =>
          completion.forToken(message.token).length > 0 && finished.some((f) => f.token === message.token),
      );
      return {
        record: completion.forToken(message.token)[0]!,
        attempt: finished.find((f) => f.token === message.token)!,
      };
    }

    it("passes the input on stdin and in FERRY_INPUT_FILE and reads the last stdout line as output", async () => {
      const input = { input: { n: 1 }, deps: { up: [1, 2] } };
      const { record } = await run("echo", { input });
      expect(record).toMatchObject({ kind: "success", output: { stdin: input, file: input, step: "echo" } });
    });

    it("prefers $FERRY_JOB_DIR/.output.json", async () => {
      expect((await run("file")).record).toMatchObject({ kind: "success", output: { from: "file" } });
    });

    it("reports a non-zero exit as Ferry.ExitCode with the end of stderr", async () => {
      const { record, attempt } = await run("fail");
      expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.exitCode });
      expect((record as { cause: string }).cause).toMatch(/code 7[\s\S]*going down/);
      expect(attempt.exitCode).toBe(7);
      expect(attempt.stderr).toContain("going down");
    });

    it("stages inputs into the job folder and uploads declared outputs", async () => {
      const execution = `suite-${Date.now()}`;
      const jobFiles = { bucket: "local", prefix: `suite/${execution}/` };
      const ref = { ...jobFiles, site: "edge" };
      await store.put(ref, "in.txt", "ferry");
      expect((await run("files", { execution, jobFiles })).record).toMatchObject({ kind: "success" });
      expect((await store.get(ref, "out.txt")).toString()).toBe("FERRY");
    });

    it("stops a step at its timeout and reports Ferry.Timeout", async () => {
      const started = Date.now();
      expect((await run("slow")).record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.timeout });
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it("passes the step's env from the manifest", async () => {
      expect((await run("env")).record).toMatchObject({ kind: "success", output: { greeting: "hej" } });
    });

    it("caps the kept log and still reads the output", async () => {
      const { record, attempt } = await run("chatty");
      expect(record).toMatchObject({ kind: "success", output: { n: 2000 } });
      expect(attempt.stdout.length).toBeLessThan(4096 + 200);
      expect(attempt.stdout).toContain("line-0-");
      expect(attempt.stdout).toContain("line-1999-");
    });
  });
}

async function until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
