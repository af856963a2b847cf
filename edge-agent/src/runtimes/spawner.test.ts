import { availableParallelism, tmpdir } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { HelperSpawner, type StepProcess } from "./spawner.ts";

const request = (script: string, input = "") => ({
  file: "sh",
  args: ["-c", script],
  cwd: tmpdir(),
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  input,
  drainMs: 2000,
});

function ended(
  p: StepProcess,
): Promise<{ code?: number | null; error?: NodeJS.ErrnoException; out: string }> {
  let out = "";
  p.onStdout((chunk) => {
    out += chunk.toString();
  });
  return new Promise((resolve) => {
    p.once("close", (code: number | null) => resolve({ code, out }));
    p.once("error", (error: NodeJS.ErrnoException) => resolve({ error, out }));
  });
}

/** The helpers' pids, oldest first. */
const helperPids = (spawner: HelperSpawner) =>
  (spawner as unknown as { helpers: Array<{ child: { pid: number } }> }).helpers.map((h) => h.child.pid);

describe("HelperSpawner", () => {
  const spawner = new HelperSpawner();
  afterEach(() => spawner.close());

  it("Given stdin input, When the step echoes it, Then its output and exit code come back", async () => {
    const result = await ended(spawner.spawn(request("cat; exit 3", "hello")));
    expect(result).toEqual({ code: 3, out: "hello" });
  });

  it("Given more output than one message carries, Then all of it arrives in order", async () => {
    const result = await ended(spawner.spawn(request("seq 1 50000")));
    const lines = result.out.trimEnd().split("\n");
    expect(lines).toHaveLength(50000);
    expect(lines.at(-1)).toBe("50000");
  });

  it("Given a program that does not exist, Then the step fails to start with ENOENT", async () => {
    const result = await ended(spawner.spawn({ ...request(""), file: "no-such-program-ferry" }));
    expect(result.error?.code).toBe("ENOENT");
  });

  it("Given a step whose group runs a child, When its group is signalled, Then the step ends by the signal", async () => {
    const p = spawner.spawn(request("sleep 30 & sleep 30; wait"));
    const done = ended(p);
    setTimeout(() => p.signalGroup("SIGTERM"), 200);
    expect((await done).code).toBeNull();
  });

  it("Given the helper dies mid-step, Then the step fails, and the next step starts a new helper", async () => {
    const p = spawner.spawn(request("sleep 1"));
    const done = ended(p);
    process.kill(helperPids(spawner)[0]!, "SIGKILL");
    expect((await done).error?.code).toBe("ESPAWNER");
    expect(await ended(spawner.spawn(request("echo again")))).toEqual({ code: 0, out: "again\n" });
  });

  it("Given two steps at once, Then a second helper starts the second one, and one helper dying fails only its own step", async () => {
    const first = ended(spawner.spawn(request("sleep 30")));
    const second = ended(spawner.spawn(request("sleep 0.2; echo second")));
    const pids = helperPids(spawner);
    expect(new Set(pids).size).toBe(Math.min(2, availableParallelism()));
    process.kill(pids[0]!, "SIGKILL");
    expect((await first).error?.code).toBe("ESPAWNER");
    if (pids.length > 1) expect(await second).toEqual({ code: 0, out: "second\n" });
  });

  it("Given steps one after another, Then one helper serves them all", async () => {
    for (let i = 0; i < 3; i++) expect((await ended(spawner.spawn(request("true")))).code).toBe(0);
    expect(helperPids(spawner)).toHaveLength(1);
  });
});
