// The worker core in a few lines: compile examples/hello, serve its edge site
// "laptop" from an in-memory queue, push one step message, print the answer.
// Run from the repository root: npx tsx edge-agent/example/hello-worker.ts
import { readFileSync } from "node:fs";
import { compileSpec, type StepMessage } from "@ferry/dsl-compiler";
import { createWorker, InMemoryQueue, ProcessRuntime, RecordingCompletion } from "@ferry/edge-agent";

const { compiled } = compileSpec(readFileSync("examples/hello/workflow.yaml", "utf8"));
if (!compiled) throw new Error("examples/hello/workflow.yaml does not compile");

const queue = new InMemoryQueue();
const completion = new RecordingCompletion(); // or CallbackCompletion({ onComplete }) to react to each answer
const worker = createWorker({
  queue,
  completion,
  manifests: [compiled.manifest], // trusted: what `extract` runs comes from here, never from the message
  runtimes: { process: new ProcessRuntime() },
  site: "laptop",
});
await worker.start();

const message: StepMessage = {
  v: 1,
  token: "example-token",
  workflow: "hello",
  execution: "example-1",
  step: "extract",
  attempt: 1,
  input: { input: {}, deps: {} },
  jobFiles: { bucket: "local", prefix: "example-1" },
};
queue.send(JSON.stringify(message));
await completion.waitFor(1);
console.log(JSON.stringify(completion.records[0]));
// → {"kind":"success","token":"example-token","output":{"numbers":[3,1,4,1,5,9,2,6]}}
await worker.stop();
