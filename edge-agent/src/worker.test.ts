import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FERRY_ERRORS, MAX_PAYLOAD_BYTES } from "@ferry/dsl-compiler";
import { isOutputRef, type StepMessage } from "@ferry/dsl-compiler/contract";
import { afterEach, describe, expect, it } from "vitest";
import { NO_METRICS } from "./events.ts";
import { RecordingCompletion } from "./in-memory/completions.ts";
import { InMemoryQueue } from "./in-memory/in-memory-queue.ts";
import { LocalJobFileStore } from "./local-job-files.ts";
import type { TokenCheck } from "./ports/completion.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import { manifestOf, processExists, shStep, stepMessage } from "./testing/fixtures.ts";
import { createWorker, type Worker, type WorkerOptions } from "./worker.ts";

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});

async function setup(steps: Parameters<typeof manifestOf>[1], options: Partial<WorkerOptions> = {}) {
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();
  const root = await mkdtemp(join(tmpdir(), "ferry-worker-test-"));
  const store = new LocalJobFileStore(join(root, "files"));
  const worker = createWorker({
    queue,
    completion,
    manifests: [manifestOf("wf", steps)],
    runtimes: { process: new ProcessRuntime({ killGraceMs: 200 }) },
    jobFiles: store,
    workDir: join(root, "work"),
    concurrency: 4,
    ...options,
  });
  workers.push(worker);
  await worker.start();
  return { queue, completion, worker, store, root };
}

describe("Worker with the process runtime", () => {
  it("given a process step printing JSON, when its message arrives, then it reports that output and deletes the message", async () => {
    const { queue, completion } = await setup([
      shStep("hello", 'cat >/dev/null; echo log line; echo \'{"greeting":"hi"}\''),
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "hello", token: "t1" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toEqual({ kind: "success", token: "t1", output: { greeting: "hi" } });
    await waitUntil(() => queue.inFlight === 0);
    expect(queue.depth).toBe(0);
  });

  it("given input on stdin and in FERRY_INPUT_FILE, then the step sees both and the environment holds no input", async () => {
    const { queue, completion } = await setup([
      shStep(
        "echo",
        'read -r line; printf \'{"stdin":%s,"file":%s,"inEnv":"%s"}\\n\' "$line" "$(cat "$FERRY_INPUT_FILE")" "$(printenv FERRY_INPUT || echo none)"',
      ),
    ]);
    const input = { input: { n: 42 }, deps: { a: { x: 1 } } };
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "echo", input })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({
      kind: "success",
      output: { stdin: input, file: input, inEnv: "none" },
    });
  });

  it("given a malformed message and an unknown step, then both are dead-lettered with a reason and the worker keeps serving", async () => {
    const { queue, completion, worker } = await setup([shStep("ok", 'echo "{}"')]);
    queue.send("{not json");
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "nope" })));
    queue.send(JSON.stringify({ ...stepMessage({ workflow: "wf", step: "ok" }), v: 2 }));
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "ok", token: "good" })));
    await completion.waitFor(1);
    await waitUntil(() => queue.deadLetters.length === 3);
    const reasons = queue.deadLetters.map((d) => d.reason).sort();
    expect(reasons).toEqual([
      expect.stringContaining("invalid step message at v"),
      expect.stringContaining("not JSON"),
      expect.stringContaining('unknown step "nope" of workflow "wf"'),
    ]);
    expect(completion.records).toEqual([{ kind: "success", token: "good", output: {} }]);
    expect(worker.state).toBe("RUNNING");
  });

  it("given a dead-letter queue that refuses the move, then nothing is counted as dead-lettered and the message stays", async () => {
    const moved: string[] = [];
    const counted: number[] = [];
    const { queue, worker } = await setup([shStep("ok", 'echo "{}"')], {
      hooks: { onDeadLetter: (reason) => moved.push(reason) },
      metrics: { ...NO_METRICS, deadLettered: () => void counted.push(1) },
    });
    let refusals = 0;
    queue.deadLetter = async () => {
      refusals += 1;
      throw new Error("AccessDenied: not authorized to perform sqs:SendMessage");
    };
    queue.send("{not json");
    await waitUntil(() => refusals === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(moved).toEqual([]);
    expect(counted).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
    expect(queue.inFlight).toBe(1);
    expect(worker.state).toBe("RUNNING");
  });

  it("given a step placed on another site, then it is dead-lettered", async () => {
    const { queue } = await setup([shStep("far", "true", { site: "cloud" })], { site: "edge" });
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "far" })));
    await waitUntil(() => queue.deadLetters.length === 1);
    expect(queue.deadLetters[0]!.reason).toContain('placed on site "cloud"');
  });

  it("given a step exiting non-zero, then it fails with Ferry.ExitCode and the end of stderr", async () => {
    const { queue, completion } = await setup([shStep("bad", "echo boom >&2; exit 3")]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "bad" })));
    await completion.waitFor(1);
    const record = completion.records[0]!;
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.exitCode });
    expect(record.kind === "failure" && record.cause).toMatch(/exited with code 3[\s\S]*boom/);
  });

  it("given a step writing .error.json, then its error name reaches Step Functions", async () => {
    const { queue, completion } = await setup([
      shStep(
        "named",
        'echo \'{"error":"Data.Missing","cause":"no rows"}\' > "$FERRY_JOB_DIR/.error.json"; exit 1',
      ),
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "named" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: "Data.Missing", cause: "no rows" });
  });

  it("given a step writing .output.json, then that file is the output", async () => {
    const { queue, completion } = await setup([
      shStep("file", 'echo \'{"from":"file"}\' > "$FERRY_JOB_DIR/.output.json"; echo noise'),
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "file" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "success", output: { from: "file" } });
  });

  it("given a last line that looks like JSON but is not, then it fails with Ferry.InvalidOutput", async () => {
    const { queue, completion } = await setup([shStep("broken", "echo '{oops'")]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "broken" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.invalidOutput });
  });

  it("given a step running past timeoutSeconds, then it is killed with its children and fails with Ferry.Timeout", async () => {
    const pidFile = join(await mkdtemp(join(tmpdir(), "ferry-slow-")), "child.pid");
    const { queue, completion } = await setup([
      shStep("slow", `sleep 30 & echo $! > ${pidFile}; sleep 30; wait`, { timeoutSeconds: 1 }),
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "slow" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.timeout });
    // The background child went down with the step's process group.
    const child = Number(await readFile(pidFile, "utf8"));
    await expect.poll(() => processExists(child), { timeout: 10_000 }).toBe(false);
  });

  it("given the same token delivered twice while running, then the step runs once and is reported once", async () => {
    const countFile = join(await mkdtemp(join(tmpdir(), "ferry-count-")), "count");
    const { queue, completion } = await setup([
      shStep("once", `echo x >> ${countFile}; sleep 0.3; echo "{}"`),
    ]);
    const body = JSON.stringify(stepMessage({ workflow: "wf", step: "once", token: "dup" }));
    queue.send(body);
    queue.send(body);
    await completion.waitFor(1);
    await waitUntil(() => queue.inFlight === 0 && queue.depth === 0);
    queue.send(body);
    await waitUntil(() => queue.inFlight === 0 && queue.depth === 0);
    expect(completion.forToken("dup")).toHaveLength(1);
    expect(await readFile(countFile, "utf8")).toBe("x\n");
  });

  it("given declared inputs and outputs, then inputs are staged and outputs uploaded", async () => {
    const { queue, completion, store } = await setup([
      shStep("copy", 'tr a-z A-Z < "$FERRY_JOB_DIR/in/data.txt" > "$FERRY_JOB_DIR/out.txt"; echo "{}"', {
        inputs: ["in/data.txt"],
        outputs: ["out.txt"],
      }),
    ]);
    const jobFiles = { bucket: "local", prefix: "wf/exec-7/" };
    const ref = { ...jobFiles, site: "edge" };
    await store.put(ref, "in/data.txt", "hello");
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "copy", execution: "exec-7", jobFiles })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "success" });
    expect((await store.get(ref, "out.txt")).toString()).toBe("HELLO");
  });

  it("given a declared output the step did not write, then it fails with Ferry.InvalidOutput", async () => {
    const { queue, completion } = await setup([shStep("lazy", 'echo "{}"', { outputs: ["result.csv"] })]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "lazy" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.invalidOutput });
  });

  it("given an output over 256 KiB, then it is stored as a job file and passed by reference to the next step", async () => {
    const big = "x".repeat(MAX_PAYLOAD_BYTES + 10);
    const seenFile = join(await mkdtemp(join(tmpdir(), "ferry-seen-")), "seen.json");
    const { queue, completion } = await setup([
      shStep("big", `printf '{"data":"%s"}\\n' "$(head -c ${big.length} /dev/zero | tr '\\0' x)"`),
      shStep(
        "next",
        `cat > "$FERRY_JOB_DIR/seen.json"; cp "$FERRY_JOB_DIR/seen.json" ${seenFile}; echo "{}"`,
      ),
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "big", token: "big" })));
    await completion.waitFor(1);
    const output = (completion.records[0] as { output: unknown }).output;
    expect(isOutputRef(output)).toBe(true);
    queue.send(
      JSON.stringify(
        stepMessage({ workflow: "wf", step: "next", input: { input: {}, deps: { big: output } } }),
      ),
    );
    await completion.waitFor(2);
    const seen = JSON.parse(await readFile(seenFile, "utf8"));
    expect(seen.deps.big.data).toBe(big);
  });

  it("given a missing program, then it fails with Ferry.RuntimeError naming it", async () => {
    const { queue, completion } = await setup([
      { name: "ghost", runtime: { kind: "process", command: ["ferry-no-such-program"], env: {} } },
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "ghost" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.runtime });
    expect((completion.records[0] as { cause: string }).cause).toContain("ferry-no-such-program");
  });

  it("given a container step and no container runtime, then it fails saying how to fix it", async () => {
    const { queue, completion } = await setup([
      { name: "box", runtime: { kind: "container", image: "x", env: {}, network: "none", volumes: [] } },
    ]);
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "box" })));
    await completion.waitFor(1);
    expect((completion.records[0] as { cause: string }).cause).toContain("--runtime docker");
  });

  it("given a running step, when stopped with no grace, then it is handed back as Ferry.AgentShutdown", async () => {
    const { queue, completion, worker } = await setup([shStep("long", "sleep 30")]);
    const attempts: string[] = [];
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "long" })));
    await waitUntil(() => worker.runningCount === 1);
    await worker.stop({ graceMs: 0 });
    attempts.push(worker.state);
    expect(completion.records[0]).toMatchObject({ kind: "failure", error: FERRY_ERRORS.agentShutdown });
    expect(attempts).toEqual(["STOPPED"]);
    expect(queue.inFlight).toBe(0);
  });

  it("reports attempt logs and timings through onAttemptFinished", async () => {
    const finished: unknown[] = [];
    const { queue, completion } = await setup([shStep("logs", "echo out; echo err >&2; echo '{\"a\":1}'")], {
      hooks: { onAttemptFinished: (a) => finished.push(a) },
    });
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "logs" })));
    await completion.waitFor(1);
    await waitUntil(() => finished.length === 1);
    expect(finished[0]).toMatchObject({
      step: "logs",
      outcome: "succeeded",
      exitCode: 0,
      stdout: 'out\n{"a":1}\n',
      stderr: "err\n",
      runtime: "process",
    });
  });

  it("caps the captured log but still reads the output from the last line", async () => {
    const finished: Array<{ stdout: string }> = [];
    const { queue, completion } = await setup(
      [shStep("chatty", "head -c 100000 /dev/zero | tr '\\0' a; echo; echo '{\"ok\":true}'")],
      {
        logCapBytes: 1000,
        hooks: { onAttemptFinished: (a) => finished.push(a) },
      },
    );
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "chatty" })));
    await completion.waitFor(1);
    expect(completion.records[0]).toMatchObject({ kind: "success", output: { ok: true } });
    await waitUntil(() => finished.length === 1);
    expect(finished[0]!.stdout.length).toBeLessThan(1200);
    expect(finished[0]!.stdout).toContain("bytes dropped");
  });
});

describe("Worker slots while answers go out", () => {
  it("given one slot and a slow answer, then the next message's step runs before the first answer is accepted, and both are answered", async () => {
    let release: () => void = () => undefined;
    const answering = new Promise<void>((resolve) => {
      release = resolve;
    });
    const completion = new RecordingCompletion();
    const success = completion.success.bind(completion);
    // The first answer waits until the test releases it: Step Functions being slow to take it.
    completion.success = async (token, output) => {
      if (token === "slow") await answering;
      return success(token, output);
    };
    const { queue } = await setup([shStep("s", "cat >/dev/null; echo '{\"ok\":true}'")], {
      completion,
      concurrency: 1,
    });
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "s", token: "slow" })));
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "s", token: "next" })));
    await completion.waitFor(1);
    expect(completion.records.map((r) => r.token)).toEqual(["next"]);
    release();
    await completion.waitFor(2);
    expect(completion.records.map((r) => r.token)).toEqual(["next", "slow"]);
    await waitUntil(() => queue.inFlight === 0 && queue.depth === 0);
  });
});

describe("Worker token check before a step runs", () => {
  /** A completion whose check answers `verdict` after `delayMs`, counting the checks. */
  function checking(verdict: TokenCheck, delayMs = 0) {
    const checks: string[] = [];
    const completion = Object.assign(new RecordingCompletion(), {
      checkToken: async (message: StepMessage): Promise<TokenCheck> => {
        checks.push(message.token);
        await new Promise((r) => setTimeout(r, delayMs));
        return verdict;
      },
    });
    return { completion, checks };
  }

  it("given a copy delivered while the check is still out, then the step runs once and both copies are deleted", async () => {
    const countFile = join(await mkdtemp(join(tmpdir(), "ferry-count-")), "count");
    const { completion, checks } = checking({ kind: "live" }, 200);
    const { queue } = await setup([shStep("once", `echo x >> ${countFile}; echo "{}"`)], { completion });
    const body = JSON.stringify(stepMessage({ workflow: "wf", step: "once", token: "dup" }));
    queue.send(body);
    await waitUntil(() => checks.length === 1);
    queue.send(body);
    await completion.waitFor(1);
    await waitUntil(() => queue.inFlight === 0 && queue.depth === 0);
    expect(checks).toEqual(["dup"]);
    expect(await readFile(countFile, "utf8")).toBe("x\n");
  });

  it("given a refused token, then the message is dead-lettered with the reason and nothing runs", async () => {
    const countFile = join(await mkdtemp(join(tmpdir(), "ferry-count-")), "count");
    const { completion } = checking({ kind: "refused", reason: "forged" });
    const { queue } = await setup([shStep("never", `echo x >> ${countFile}; echo "{}"`)], { completion });
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "never" })));
    await waitUntil(() => queue.deadLetters.length === 1);
    expect(queue.deadLetters[0]!.reason).toBe("forged");
    expect(completion.records).toEqual([]);
    expect(existsSync(countFile)).toBe(false);
  });

  it("given a finished task's token, then the message is dropped; given a check that failed, it is handed back", async () => {
    const gone = checking({ kind: "gone", reason: "closed" });
    const { queue } = await setup([shStep("never", 'echo "{}"')], { completion: gone.completion });
    queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "never" })));
    await waitUntil(() => queue.inFlight === 0 && queue.depth === 0);
    expect(queue.deadLetters).toEqual([]);
    expect(gone.completion.records).toEqual([]);

    const unknown = checking({ kind: "unknown", error: new Error("unreachable") });
    const second = await setup([shStep("never", 'echo "{}"')], { completion: unknown.completion });
    second.queue.send(JSON.stringify(stepMessage({ workflow: "wf", step: "never" })));
    await waitUntil(() => unknown.checks.length === 1);
    await waitUntil(() => second.queue.inFlight === 1);
    expect(second.queue.deadLetters).toEqual([]);
    expect(unknown.completion.records).toEqual([]);
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
