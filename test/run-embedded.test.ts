import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, ferry, startFerry, tempProject } from "./support/ferry-cli.ts";

function runRecords(project: string) {
  const dir = join(project, ".ferry", "runs");
  return readdirSync(dir)
    .sort()
    .map((id) => JSON.parse(readFileSync(join(dir, id, "run.json"), "utf8")));
}

/** Processes whose command line contains `marker` (the test's own child processes). */
function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false; // the process ended while we looked
      }
    })
    .map(Number);
}

describe("ferry run on the embedded runtime", () => {
  it("runs hello: data passes from an edge process to a cloud function", async () => {
    const project = tempProject();
    const result = await ferry(["run", "examples/hello/workflow.yaml", "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    expect(record).toMatchObject({
      workflow: "hello",
      status: "SUCCEEDED",
      output: { summarize: { count: 8, sum: 31, max: 9 } },
    });
    expect(
      record.steps.map((s: { name: string; status: string; attempts: number }) => [
        s.name,
        s.status,
        s.attempts,
      ]),
    ).toEqual([
      ["extract", "SUCCEEDED", 1],
      ["summarize", "SUCCEEDED", 1],
    ]);
    const log = readFileSync(join(project, ".ferry", "runs", record.runId, record.steps[0].logPath), "utf8");
    expect(log).toContain("extracting");
  });

  it("runs etl-fanout and foreach to success", async () => {
    const project = tempProject();
    const fanout = await ferry(["run", "examples/etl-fanout/workflow.yaml", "--json"], { cwd: project });
    expect(fanout.code, fanout.stderr).toBe(0);
    expect(JSON.parse(fanout.stdout.trim().split("\n").at(-1)!).output).toEqual({
      merge: { partitions: ["ap", "eu", "us"], rows: 535 },
    });
    const foreach = await ferry(["run", "examples/foreach/workflow.yaml", "--json"], { cwd: project });
    expect(foreach.code, foreach.stderr).toBe(0);
    expect(JSON.parse(foreach.stdout.trim().split("\n").at(-1)!).output.report.thumbnails).toEqual([
      "thumb-a.jpg",
      "thumb-b.jpg",
      "thumb-c.jpg",
      "thumb-d.jpg",
      "thumb-e.jpg",
    ]);
  });

  it("retries a failing step, then fails the run naming the step, its error and its log", async () => {
    const project = tempProject();
    writeFileSync(
      join(project, "fail.yaml"),
      `name: failing
sites: { lab: { type: edge } }
steps:
  - name: ok
    site: lab
    process: { command: ["sh", "-c", "echo '{\\"a\\": 1}'"] }
  - name: flaky
    depends: [ok]
    site: lab
    retry: { maxAttempts: 3, intervalSeconds: 0 }
    process: { command: ["sh", "-c", "echo 'disk full' >&2; test -f fixed && echo '{\\"fixed\\": true}' || exit 3"] }
`,
    );
    const failed = await ferry(["run", "fail.yaml"], { cwd: project });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("step flaky failed after 3 attempts: Ferry.ExitCode");
    expect(failed.stderr).toContain("disk full");
    expect(failed.stderr).toContain("npx ferry logs");
    const [first] = runRecords(project);
    expect(first.status).toBe("FAILED");
    expect(first.steps.find((s: { name: string }) => s.name === "flaky")).toMatchObject({
      status: "FAILED",
      attempts: 3,
      exitCode: 3,
      error: "Ferry.ExitCode",
    });

    // --resume reruns only what failed: `ok` is reused, `flaky` runs again and now succeeds.
    writeFileSync(join(project, "fixed"), "");
    const resumed = await ferry(["run", "fail.yaml", "--resume", first.runId, "--json"], { cwd: project });
    expect(resumed.code, resumed.stderr).toBe(0);
    const record = JSON.parse(resumed.stdout.trim().split("\n").at(-1)!);
    expect(record.resumedFrom).toBe(first.runId);
    expect(record.steps.find((s: { name: string }) => s.name === "ok")).toMatchObject({
      status: "SUCCEEDED",
      reused: true,
      attempts: 0,
    });
    expect(record.steps.find((s: { name: string }) => s.name === "flaky")).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
    });
    expect(record.output).toEqual({ flaky: { fixed: true } });
  });

  it("keeps what a function step returned, even when the handler changes that object afterwards", async () => {
    const project = tempProject();
    // The handler returns one module-level object and changes it while the run goes on.
    writeFileSync(
      join(project, "keeper.ts"),
      `const kept = { n: 1, seen: [] as string[] };
export async function handler() {
  setTimeout(() => { kept.n = 99; kept.seen.push("changed"); }, 50);
  return kept;
}
`,
    );
    writeFileSync(
      join(project, "keep.yaml"),
      `name: keeping
sites: { lab: { type: edge } }
steps:
  - name: keep
    site: lab
    function: { handler: "keeper.ts#handler" }
  - name: slow
    site: lab
    process: { command: ["sh", "-c", "sleep 0.5; echo '{}'"] }
  - name: after
    depends: [keep, slow]
    site: lab
    process: { command: ["sh", "-c", "cat"] }
`,
    );
    const result = await ferry(["run", "keep.yaml", "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    // `after` starts once `slow` is done, well after the handler's change: it gets the value as returned.
    expect(record.output.after.deps.keep).toEqual({ n: 1, seen: [] });
  });

  it("cancels on SIGINT: exit 130, a CANCELLED record, no process left behind", async () => {
    const project = tempProject();
    const marker = `ferry-test-${randomUUID()}`;
    writeFileSync(
      join(project, "slow.yaml"),
      `name: slow
sites: { lab: { type: edge } }
steps:
  - { name: a, site: lab, process: { command: ["sh", "-c", "sleep 30; echo ${marker}"] } }
  - { name: b, site: lab, process: { command: ["sh", "-c", "sleep 30; echo ${marker}"] } }
`,
    );
    const child = startFerry(["run", "slow.yaml"], { cwd: project });
    await eventually(() => (processesWith(marker).length >= 2 ? true : undefined), "both steps to start");
    child.kill("SIGINT");
    const result = await child.output;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("cancelled");
    expect(runRecords(project)[0]).toMatchObject({ status: "CANCELLED" });
    expect(runRecords(project)[0].steps.map((s: { status: string }) => s.status)).toEqual([
      "CANCELLED",
      "CANCELLED",
    ]);
    await eventually(
      () => (processesWith(marker).length === 0 ? true : undefined),
      "the step processes to be gone",
      10_000,
    );
  });

  it("runs HTTP steps on an edge site and on an AWS site with the same output shape", async () => {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ path: req.url, got: body ? JSON.parse(body) : null }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const project = tempProject();
      writeFileSync(
        join(project, "http.yaml"),
        `name: http-steps
sites: { cloud: { type: aws, region: us-east-1 }, lab: { type: edge } }
steps:
  - { name: edge-call, site: lab, http: { method: POST, url: "${url}/edge", body: { hello: edge } } }
  - { name: cloud-call, depends: [edge-call], site: cloud, http: { method: POST, url: "${url}/cloud" } }
`,
      );
      const result = await ferry(["run", "http.yaml", "--json"], { cwd: project });
      expect(result.code, result.stderr).toBe(0);
      const edge = { statusCode: 200, body: { path: "/edge", got: { hello: "edge" } } };
      expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!).output).toEqual({
        "cloud-call": {
          statusCode: 200,
          body: { path: "/cloud", got: { input: {}, deps: { "edge-call": edge } } },
        },
      });
      // Each HTTP attempt is an attempt event too, so ferry ui lists it with its log.
      const [runId] = readdirSync(join(project, ".ferry", "runs"));
      const attempts = readFileSync(join(project, ".ferry", "runs", runId!, "events.ndjson"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { type: string; step: string })
        .filter((e) => e.type === "attempt");
      expect(attempts).toEqual([
        expect.objectContaining({
          step: "edge-call",
          attempt: 1,
          runtime: "http",
          outcome: "succeeded",
          logPath: "logs/edge-call.attempt-1.log",
        }),
        expect.objectContaining({
          step: "cloud-call",
          attempt: 1,
          runtime: "http",
          outcome: "succeeded",
          logPath: "logs/cloud-call.attempt-1.log",
        }),
      ]);
    } finally {
      server.close();
    }
  });

  it("rejects a bad input with exit 2 and an invalid spec with exit 1, running nothing", async () => {
    const project = tempProject();
    expect(
      (await ferry(["run", "examples/hello/workflow.yaml", "--input", "{not json"], { cwd: project })).code,
    ).toBe(2);
    writeFileSync(join(project, "bad.yaml"), "name: bad\nsites: {}\nsteps: []\n");
    const bad = await ferry(["run", "bad.yaml"], { cwd: project });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("EMPTY_WORKFLOW");
  });
});
