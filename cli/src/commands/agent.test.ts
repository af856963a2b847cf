import { describe, expect, it } from "vitest";
import { agentCommand } from "./agent.ts";

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      cwd: "/",
      env,
      isTTY: false,
      signal: new AbortController().signal,
    },
  };
}

describe("ferry agent", () => {
  it("prints its usage with --help", async () => {
    const { io: cli, out } = io();
    expect(await agentCommand.run(["--help"], cli)).toBe(0);
    expect(out.join("")).toContain("--queue-url URL");
  });

  it("exits 2 naming the bad fields of an invalid config", async () => {
    const { io: cli, err } = io({ FERRY_CONCURRENCY: "0" });
    expect(await agentCommand.run(["--site", "lab"], cli)).toBe(2);
    for (const field of ["concurrency:", "queues:", "manifests:"]) expect(err.join("")).toContain(field);
  });
});
