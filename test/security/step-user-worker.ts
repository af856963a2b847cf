// A worker started as the agent would start it with `steps.user` set, in its
// own process (run by agent-environment.test.ts as an unprivileged agent user
// holding only the unit's capabilities, with secrets in its environment).
// Reads a plan (JSON file named by argv[2]), runs each message on an
// in-memory queue with the real process and function runtimes, then prints
// one JSON line: the answers and the attempts' logs. Its own logs go to stderr.
import { readFileSync } from "node:fs";
import type { StepMessage } from "@ferry/dsl-compiler";
import {
  type AttemptFinished,
  createWorker,
  FunctionRuntime,
  InMemoryQueue,
  LocalJobFileStore,
  ProcessRuntime,
  RecordingCompletion,
  StepUser,
} from "@ferry/edge-agent";
import { pino } from "pino";
import { manifestOf, type TestStep } from "../../edge-agent/src/testing/fixtures.ts";

interface Plan {
  stepUser: string;
  workDir: string;
  cacheDir: string;
  projectDir: string;
  filesDir: string;
  steps: TestStep[];
  messages: StepMessage[];
}

const plan = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Plan;
const logger = pino({ level: "debug", base: { pid: process.pid } }, pino.destination(2));
// What Agent.start does first: resolve the user and fail unless this process can switch to it.
const stepUser = StepUser.resolve({ user: plan.stepUser });
stepUser.assertCanSwitch();
await stepUser.prepareCacheDir(plan.cacheDir);
const queue = new InMemoryQueue();
const completion = new RecordingCompletion();
const finished: AttemptFinished[] = [];
const worker = createWorker({
  queue,
  completion,
  manifests: [manifestOf("hostile", plan.steps)],
  runtimes: {
    process: new ProcessRuntime({ projectDir: plan.projectDir, stepUser, killGraceMs: 500 }),
    function: new FunctionRuntime({ projectDir: plan.projectDir, stepUser, killGraceMs: 500 }),
  },
  jobFiles: new LocalJobFileStore(plan.filesDir),
  workDir: plan.workDir,
  stepUser,
  concurrency: 2,
  logger,
  hooks: { onAttemptFinished: (a) => finished.push(a) },
});
await worker.start();
for (const message of plan.messages) queue.send(JSON.stringify(message));
const deadline = Date.now() + 120_000;
while (finished.length < plan.messages.length && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 20));
await worker.stop({ graceMs: 0 });
process.stdout.write(
  `${JSON.stringify({
    agentPid: process.pid,
    answers: plan.messages.map((m) => ({ step: m.step, record: completion.forToken(m.token)[0] ?? null })),
    attempts: finished.map((a) => ({
      step: a.step,
      stdout: a.stdout,
      stderr: a.stderr,
      exitCode: a.exitCode,
    })),
  })}\n`,
);
