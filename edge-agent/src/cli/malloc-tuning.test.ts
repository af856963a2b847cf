import { describe, expect, it } from "vitest";
import { MALLOC_TUNABLES, reexecWithTunables } from "./malloc-tuning.ts";

describe("reexecWithTunables", () => {
  it("starts the agent again with the tunables, keeping its environment", () => {
    const again = reexecWithTunables(
      { PATH: "/bin", AWS_REGION: "eu-west-1" },
      ["--config", "a.yaml"],
      "linux",
    );
    expect(again?.env).toEqual({ PATH: "/bin", AWS_REGION: "eu-west-1", GLIBC_TUNABLES: MALLOC_TUNABLES });
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
