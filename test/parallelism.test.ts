import { aslMakespan, criticalPath } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { compileWfCommonsInstances } from "./support/wfcommons.ts";

describe("compiled WfCommons workflows keep all their parallelism", () => {
  const instances = compileWfCommonsInstances();

  it("covers the four shipped instances", () => {
    expect(instances.map((i) => i.name.split("-")[0])).toEqual([
      "1000genome",
      "epigenomics",
      "montage",
      "soykb",
    ]);
  });

  for (const { name, compiled, durations } of instances) {
    it(`${name}: compiled makespan equals the DAG's critical path`, () => {
      const index = new Map(compiled.ir.steps.map((s, i) => [s.name, i]));
      const deps = compiled.ir.steps.map((s) => s.depends.map((d) => index.get(d)!));
      const cp = criticalPath(deps, (v) => durations.get(compiled.ir.steps[v]!.name)!).length;
      const { makespan } = aslMakespan(compiled, (step) => durations.get(step)!);
      expect(cp).toBeGreaterThan(0);
      expect(makespan).toBeCloseTo(cp, 6);
    });
  }
});
