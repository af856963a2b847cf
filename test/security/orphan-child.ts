// A stand-in agent life for the orphan test: starts one long container step
// with the given owner label, then waits to be SIGKILLed.
import { DockerRuntime } from "@ferry/edge-agent";
import { containerShStep, manifestOf } from "../../edge-agent/src/testing/fixtures.ts";

const [owner, image, jobDir, socketPath] = process.argv.slice(2) as [string, string, string, string];
const step = manifestOf("orphan", [containerShStep("sleeper", image, "sleep 300")]).steps.sleeper!;
const runtime = new DockerRuntime({ socketPath, pullPolicy: "never", owner });
void runtime.run({
  step,
  input: { input: {}, deps: {} },
  inputJson: '{"input":{},"deps":{}}',
  jobFiles: { bucket: "local", prefix: "orphan/orphan/" },
  jobDir,
  env: { FERRY_EXECUTION: "orphan" },
  signal: new AbortController().signal,
  logCapBytes: 1024,
});
