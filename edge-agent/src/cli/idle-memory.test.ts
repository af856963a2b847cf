import { describe, expect, it } from "vitest";
import {
  MALLOC_TUNABLES,
  NODE_MEMORY_OPTION,
  reexecWithTunables,
  restoreEnvironment,
} from "./idle-memory.ts";

describe("reexecWithTunables", () => {
  it("starts the agent again with the tunables, keeping its environment", () => {
    const again = reexecWithTunables(
      { PATH: "/bin", AWS_REGION: "eu-west-1" },
      ["--config", "a.yaml"],
      "linux",
    );
    expect(again?.env).toEqual({
      PATH: "/bin",
      AWS_REGION: "eu-west-1",
      GLIBC_TUNABLES: MALLOC_TUNABLES,
      NODE_OPTIONS: NODE_MEMORY_OPTION,
      FERRY_AGENT_RESTARTED: "1",
    });
  });

  it("is undone in the restarted agent: its environment is the one it was started with", () => {
    for (const started of [{ PATH: "/bin" }, { PATH: "/bin", NODE_OPTIONS: "--trace-gc" }]) {
      const env: NodeJS.ProcessEnv = reexecWithTunables(started, [], "linux")!.env;
      // The restarted process does not restart again…
      expect(reexecWithTunables(env, [], "linux")).toBeUndefined();
      // …and its steps and children see what it was started with.
      restoreEnvironment(env);
      expect(env).toEqual(started);
    }
  });

  it("adds to the operator's NODE_OPTIONS, and keeps their own young generation size", () => {
    expect(reexecWithTunables({ NODE_OPTIONS: "--trace-gc" }, [], "linux")?.env.NODE_OPTIONS).toBe(
      `--trace-gc ${NODE_MEMORY_OPTION}`,
    );
    expect(
      reexecWithTunables({ NODE_OPTIONS: "--max-semi-space-size=8" }, [], "linux")?.env.NODE_OPTIONS,
    ).toBe("--max-semi-space-size=8");
  });

  it("never loops: a process that has tunables (its own or the operator's, even empty) keeps running", () => {
    expect(reexecWithTunables({ GLIBC_TUNABLES: MALLOC_TUNABLES }, [], "linux")).toBeUndefined();
    expect(reexecWithTunables({ GLIBC_TUNABLES: "" }, [], "linux")).toBeUndefined();
  });

  it("leaves short commands and other systems alone", () => {
    for (const first of ["function-host", "--version", "--help"])
      expect(reexecWithTunables({}, [first], "linux")).toBeUndefined();
    expect(reexecWithTunables({}, ["engine-proxy"], "linux")).toBeDefined();
    expect(reexecWithTunables({}, [], "darwin")).toBeUndefined();
  });
});
