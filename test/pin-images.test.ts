import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FERRY_ERRORS, type Manifest } from "@ferry/dsl-compiler";
import { createWorker, DockerRuntime, InMemoryQueue, RecordingCompletion } from "@ferry/edge-agent";
import { stepMessage } from "@ferry/edge-agent/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSocket, requireDocker, requireTestImage, TEST_IMAGE } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";

// `ferry compile --pin-images` against a real engine: the manifest names the
// image id, and an agent refuses the tag once it points at another image.
describe("ferry compile --pin-images (real Docker engine)", () => {
  const image = `ferry-pin-test/${randomUUID().slice(0, 8)}:1`;
  const build = (label: string) =>
    execFileSync("docker", ["build", "-q", "-t", image, "-"], {
      input: `FROM ${TEST_IMAGE}\nLABEL ferry.pin.test=${label}\n`,
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["pipe", "pipe", "pipe"],
    });
  const idOf = () =>
    execFileSync("docker", ["image", "inspect", image, "--format", "{{.Id}}"], { encoding: "utf8" }).trim();
  beforeAll(async () => {
    await requireDocker();
    await requireTestImage();
    build("1");
  });
  afterAll(() => {
    execFileSync("docker", ["rmi", "-f", image], { stdio: "pipe" });
  });

  it("writes the engine's digest into the manifest, runs it, and refuses the tag once it moved", async () => {
    const project = tempProject();
    writeFileSync(
      join(project, "pin.yaml"),
      `name: pinned
sites: { lab: { type: edge } }
steps:
  - { name: boxed, site: lab, container: { image: "${image}", command: ["sh", "-c", "echo '{\\"ok\\": true}'"] } }
`,
    );
    const compiled = await ferry(["compile", "pin.yaml", "--out", "out", "--no-synth", "--pin-images"], {
      cwd: project,
    });
    expect(compiled.code, compiled.stderr).toBe(0);
    const pinnedId = idOf();
    expect(compiled.stdout).toContain(`pinned ${image} → ${pinnedId}`);
    const manifest = JSON.parse(readFileSync(join(project, "out", "manifest.json"), "utf8")) as Manifest;
    expect(manifest.steps.boxed!.runtime).toMatchObject({ image, imageDigest: pinnedId });

    const queue = new InMemoryQueue({ name: "pin" });
    const completion = new RecordingCompletion();
    const worker = createWorker({
      queue,
      completion,
      manifests: [manifest],
      runtimes: { container: new DockerRuntime({ socketPath: dockerSocket(), pullPolicy: "never" }) },
      workDir: join(await mkdtemp(join(tmpdir(), "ferry-pin-")), "work"),
    });
    await worker.start();
    const run = async () => {
      const message = stepMessage({ workflow: "pinned", step: "boxed", execution: `pin-${randomUUID()}` });
      queue.send(JSON.stringify(message));
      while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 20));
      return completion.forToken(message.token)[0]!;
    };
    try {
      expect(await run()).toMatchObject({ kind: "success", output: { ok: true } });
      build("2");
      expect(idOf()).not.toBe(pinnedId);
      const refused = await run();
      expect(refused).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
      expect((refused as { cause: string }).cause).toContain(`pinned to ${pinnedId}`);
    } finally {
      await worker.stop({ graceMs: 0 });
    }
  });

  it("fails with a way out when the engine lacks an image", async () => {
    const project = tempProject();
    writeFileSync(
      join(project, "ghost.yaml"),
      `name: ghost
sites: { lab: { type: edge } }
steps:
  - { name: boxed, site: lab, container: { image: "ferry-test/does-not-exist:1" } }
`,
    );
    const result = await ferry(["compile", "ghost.yaml", "--out", "out", "--no-synth", "--pin-images"], {
      cwd: project,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("has no image ferry-test/does-not-exist:1");
  });
});
