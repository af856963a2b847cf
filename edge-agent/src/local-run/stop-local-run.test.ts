import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RunRecord, runsRoot, writeRunRecord } from "./run-record.ts";
import { stopLocalRun } from "./stop-local-run.ts";

async function project(record: Partial<RunRecord>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-stop-"));
  const full: RunRecord = {
    runId: "20261203-000000-abcdef",
    workflow: "w",
    status: "RUNNING",
    startedAt: new Date().toISOString(),
    input: {},
    specFile: "w.yaml",
    steps: [],
    ...record,
  };
  await writeRunRecord(join(runsRoot(dir), full.runId), full);
  return dir;
}

describe("stopLocalRun", () => {
  it("Given a run that ended, Then it refuses, saying how it ended", async () => {
    const dir = await project({ status: "SUCCEEDED" });
    await expect(stopLocalRun(dir, "20261203-000000-abcdef")).rejects.toThrow("already ended SUCCEEDED");
  });

  it("Given a RUNNING record whose process is gone, Then it refuses and says how to resume", async () => {
    const gone = spawnSync("true").pid;
    const dir = await project({ pid: gone });
    await expect(stopLocalRun(dir, "20261203-000000-abcdef")).rejects.toThrow(
      /is gone .*ferry run w\.yaml --resume 20261203-000000-abcdef/,
    );
  });

  it("Given a RUNNING record whose pid now belongs to another program, Then it refuses and signals nothing", async () => {
    // This test's own process is alive and is no `ferry run`.
    const dir = await project({ pid: process.pid });
    await expect(stopLocalRun(dir, "20261203-000000-abcdef")).rejects.toThrow("is gone");
  });

  it("Given an unknown or malformed id, Then it refuses without touching any process", async () => {
    const dir = await project({});
    await expect(stopLocalRun(dir, "20261203-000000-000000")).rejects.toThrow("no run");
    await expect(stopLocalRun(dir, "../../etc")).rejects.toThrow("is not a run id");
  });
});
