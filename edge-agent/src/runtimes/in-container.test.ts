import { mkdtemp, readFile, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TestStep } from "../testing/fixtures.ts";
import { manifestOf } from "../testing/fixtures.ts";
import { describeRuntimeContract } from "../testing/runtime-suite.ts";
import { InContainerRuntime } from "./in-container.ts";

const IMAGE = "ferry-test/busybox:1";

function containerStep(name: string, script: string, extra: Partial<TestStep> = {}): TestStep {
  return {
    name,
    runtime: {
      kind: "container",
      image: IMAGE,
      command: ["sh", "-c", script],
      env: {},
      network: "none",
      volumes: [],
    },
    ...extra,
  };
}

// The same contract every command runtime passes, for container steps run inside their own container.
describeRuntimeContract("in-container", {
  kind: "container",
  runtime: () => new InContainerRuntime({ image: IMAGE, killGraceMs: 500 }),
  shStep: containerStep,
});

describe("InContainerRuntime", () => {
  const request = (step: TestStep, jobDir: string) => ({
    step: manifestOf("w", [step]).steps[step.name]!,
    input: { input: {}, deps: {} },
    inputJson: '{"input":{},"deps":{}}',
    jobFiles: { bucket: "b", prefix: "w/e/" },
    jobDir,
    env: {},
    signal: new AbortController().signal,
    logCapBytes: 4096,
  });

  it("runs entrypoint + command and points the job link at the attempt's folder", async () => {
    // Given a runtime whose steps see their job folder at a fixed path
    const root = await mkdtemp(join(tmpdir(), "ferry-in-container-"));
    const link = join(root, "ferry", "job");
    const runtime = new InContainerRuntime({ image: IMAGE, jobLink: link });
    const step = containerStep("s", "");
    if (step.runtime.kind === "container") {
      step.runtime.entrypoint = ["sh", "-c"];
      step.runtime.command = [`cat ${link}/.input.json > ${link}/seen.json; echo '{"ok":true}'`];
    }
    const jobDir = await mkdtemp(join(root, "attempt-"));
    // When it runs
    const result = await runtime.run(request(step, jobDir));
    // Then the command ran with the link leading to the attempt's files
    expect(result.exitCode).toBe(0);
    expect(result.lastStdoutLine).toBe('{"ok":true}');
    expect(await readlink(link)).toBe(jobDir);
    expect(await readFile(join(jobDir, "seen.json"), "utf8")).toBe('{"input":{},"deps":{}}');
  });

  it("refuses a step of another image: its message belongs to another pool", async () => {
    const runtime = new InContainerRuntime({ image: "other:2" });
    await expect(runtime.run(request(containerStep("s", "true"), tmpdir()))).rejects.toThrow(
      /runs image "ferry-test\/busybox:1", but this worker's container is "other:2"/,
    );
  });
});
