import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import { jobFileProducers } from "./job-file-producers.ts";
import { sitesReadBy } from "./site-access.ts";

const SPEC = JSON.stringify({
  version: "1.1",
  name: "files",
  sites: { lab: { type: "edge" }, plant: { type: "edge" }, dock: { type: "edge" } },
  steps: [
    { name: "fetch", site: "lab", outputs: ["raw.csv"], process: { command: ["true"] } },
    { name: "other", site: "dock", process: { command: ["true"] } },
    {
      name: "clean",
      site: "plant",
      depends: ["fetch"],
      inputs: ["raw.csv"],
      outputs: ["clean.csv"],
      onFailure: "rescue",
      process: { command: ["true"] },
    },
    {
      name: "report",
      site: "plant",
      depends: ["clean"],
      inputs: ["raw.csv", "clean.csv"],
      process: { command: ["true"] },
    },
  ],
  handlers: [{ name: "rescue", site: "dock", process: { command: ["true"] } }],
  finally: [{ name: "archive", site: "dock", inputs: ["clean.csv"], process: { command: ["true"] } }],
});

describe("job files are read from the site of the step that wrote them", () => {
  it("finds each input's writer among the reader's ancestors, and every DAG step for finally steps", () => {
    const { compiled, diagnostics } = compileSpec(SPEC);
    expect(diagnostics).toEqual([]);
    const step = (name: string) => compiled!.ir.steps.find((s) => s.name === name)!;
    expect(step("clean").inputSites).toEqual({ "raw.csv": "lab" });
    expect(step("report").inputSites).toEqual({ "raw.csv": "lab", "clean.csv": "plant" });
    expect(step("archive").inputSites).toEqual({ "clean.csv": "plant" });
    expect(compiled!.manifest.steps.report!.inputSites).toEqual({ "raw.csv": "lab", "clean.csv": "plant" });
  });

  it("gives each principal the sites it reads: inputs' writers, deps' sites (large outputs), a handler's handled deps", () => {
    const { compiled } = compileSpec(SPEC);
    const ir = compiled!.ir;
    expect(sitesReadBy(ir, ["fetch"])).toEqual(["lab"]);
    expect(sitesReadBy(ir, ["clean", "report"])).toEqual(["lab", "plant"]);
    // rescue handles clean, so it receives fetch's output; archive reads clean.csv.
    expect(sitesReadBy(ir, ["other", "rescue", "archive"])).toEqual(["dock", "lab", "plant"]);
  });

  it("survives cycles and unknown depends (their own diagnostics name them)", () => {
    const producers = jobFileProducers([
      { name: "a", depends: ["b", "ghost"], outputs: ["x"], inputs: ["y"] },
      { name: "b", depends: ["a"], outputs: ["y"], inputs: ["x"] },
    ]);
    expect(producers.get("a")!.get("y")).toEqual(["b"]);
    expect(producers.get("b")!.has("x")).toBe(true);
  });
});
