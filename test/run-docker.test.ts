import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dockerApi, requireDocker, requireTestImage, TEST_IMAGE } from "./support/env.ts";
import { eventually, ferry, startFerry, tempProject } from "./support/ferry-cli.ts";

/** Containers (running or not) that Ferry started for steps whose command mentions `marker`. */
async function containersWith(marker: string): Promise<number> {
  const response = await dockerApi("GET", "/containers/json?all=1");
  const containers = JSON.parse(response.body) as Array<{ Command: string }>;
  return containers.filter((c) => c.Command.includes(marker)).length;
}

describe("ferry run with container steps (real Docker engine)", () => {
  beforeAll(async () => {
    await requireDocker();
    await requireTestImage();
  });

  it("runs the edge-to-cloud example: containers on two edge sites feed a cloud function", async () => {
    const project = tempProject();
    const result = await ferry(["run", "examples/edge-to-cloud/workflow.yaml", "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    expect(record.output).toEqual({
      aggregate: { sites: 2, readings: 2000, anomalies: 4, anomalyRate: 0.002 },
    });
    expect(record.steps.map((s: { status: string }) => s.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
  });

  it("cancels on SIGINT leaving no container behind", async () => {
    const project = tempProject();
    const marker = `ferry-test-${randomUUID()}`;
    writeFileSync(
      join(project, "slow.yaml"),
      `name: slow-containers
sites: { lab: { type: edge } }
steps:
  - { name: wait, site: lab, container: { image: "${TEST_IMAGE}", command: ["sh", "-c", "sleep 60; echo ${marker}"] } }
`,
    );
    const child = startFerry(["run", "slow.yaml"], { cwd: project });
    await eventually(
      async () => ((await containersWith(marker)) > 0 ? true : undefined),
      "the step's container to start",
    );
    child.kill("SIGINT");
    const result = await child.output;
    expect(result.code, result.stderr).toBe(130);
    await eventually(
      async () => ((await containersWith(marker)) === 0 ? true : undefined),
      "the container to be removed",
      20_000,
    );
    const runs = readdirSync(join(project, ".ferry", "runs"));
    expect(
      JSON.parse(readFileSync(join(project, ".ferry", "runs", runs[0]!, "run.json"), "utf8")).status,
    ).toBe("CANCELLED");
  });
});
