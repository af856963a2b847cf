import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { manifestOf, processExists, shStep } from "../testing/fixtures.ts";
import { describeRuntimeContract } from "../testing/runtime-suite.ts";
import { ProcessRuntime } from "./process.ts";

describeRuntimeContract("process", {
  kind: "process",
  runtime: () => new ProcessRuntime({ killGraceMs: 500 }),
  shStep,
});

// Forking the agent itself, the path the helper replaces, keeps the same contract.
describeRuntimeContract("process (inline spawner)", {
  kind: "process",
  runtime: () => new ProcessRuntime({ killGraceMs: 500, spawner: "inline" }),
  shStep,
});

describe("ProcessRuntime", () => {
  it("does not wait for a daemon that escaped the process group and holds stdout", async () => {
    const runtime = new ProcessRuntime();
    const jobDir = mkdtempSync(join(tmpdir(), "ferry-daemon-"));
    const pidFile = join(jobDir, "daemon.pid");
    const step = manifestOf("wf", [
      shStep("daemon", `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' & sleep 0.2; echo '{"ok":true}'`),
    ]).steps.daemon!;
    const result = await runtime.run({
      step,
      input: { input: {}, deps: {} },
      inputJson: "{}",
      jobFiles: { bucket: "local", prefix: "" },
      jobDir,
      env: {},
      signal: new AbortController().signal,
      logCapBytes: 1024,
    });
    expect(result.exitCode).toBe(0);
    expect(result.lastStdoutLine).toBe('{"ok":true}');
    // The run returned while the escaped daemon still holds stdout: it did not wait for it.
    const daemonPid = Number(readFileSync(pidFile, "utf8"));
    expect(processExists(daemonPid)).toBe(true);
    process.kill(daemonPid, "SIGKILL");
    rmSync(jobDir, { recursive: true, force: true });
  });
});
