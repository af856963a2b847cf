import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerRuntime, OWNER_LABEL } from "@ferry/edge-agent";
import { beforeAll, describe, expect, it } from "vitest";
import { dockerApi, dockerSocket, requireTestImage, TEST_IMAGE } from "../support/env.ts";

async function ownedContainers(owner: string): Promise<Array<{ Id: string; State: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${OWNER_LABEL}=${owner}`] }));
  return JSON.parse((await dockerApi("GET", `/containers/json?all=1&filters=${filters}`)).body);
}

// Orphans: an agent process is SIGKILLed while its step container runs; the
// next instance with the same owner (site + work folder) stops it at start.
describe("orphaned step containers", () => {
  beforeAll(async () => {
    await requireTestImage();
  });

  it("a restarted agent removes the containers its SIGKILLed predecessor left running", async () => {
    const owner = `sec-orphans:${await mkdtemp(join(tmpdir(), "ferry-sec-orphan-"))}`;
    const jobDir = await mkdtemp(join(tmpdir(), "ferry-sec-orphan-job-"));
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "orphan-child.ts"),
        owner,
        TEST_IMAGE,
        jobDir,
        dockerSocket(),
      ],
      { stdio: "ignore" },
    );
    let running: Array<{ Id: string; State: string }> = [];
    for (let i = 0; i < 400 && !running.some((c) => c.State === "running"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      running = await ownedContainers(owner);
    }
    expect(running.map((c) => c.State)).toContain("running");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // The crash left the step running.
    expect((await ownedContainers(owner)).map((c) => c.State)).toContain("running");

    const next = new DockerRuntime({ socketPath: dockerSocket(), owner });
    expect(await next.reapOrphans()).toBeGreaterThanOrEqual(1);
    expect(await ownedContainers(owner)).toEqual([]);
  });
});
