import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildIr, validateSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { wfcommonsInstances } from "../testing/workloads.ts";
import { importWfCommons, sanitizeStepName, uniqueNames } from "./import-wfcommons.ts";
import { parseWfInstance } from "./wfformat.ts";

const { dir, files } = wfcommonsInstances();

describe("importWfCommons — the shared WfCommons instances", () => {
  it("finds the four instances", () => {
    expect(files).toHaveLength(4);
  });

  it.each(files)("Given %s, When imported, Then the spec validates and keeps every task and edge", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const { instance, diagnostics } = parseWfInstance(text);
    expect(diagnostics).toEqual([]);
    const result = importWfCommons(instance!, { sourceName: file });
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const { spec, diagnostics: specDiagnostics } = validateSpec(result.yaml!);
    expect(specDiagnostics).toEqual([]);
    const tasks = instance!.workflow.specification.tasks;
    expect(spec!.steps).toHaveLength(tasks.length);
    const edges = tasks.reduce((n, t) => n + t.parents.length, 0);
    expect(spec!.steps.reduce((n, s) => n + s.depends.length, 0)).toBe(edges);
    const ir = buildIr(spec!);
    const runtimes = new Map(instance!.workflow.execution!.tasks.map((t) => [t.id, t.runtimeInSeconds]));
    for (const step of ir.steps) {
      expect(step.hints.durationSeconds).toBeCloseTo(runtimes.get(step.name)!, 3);
      expect(step.runtime).toMatchObject({ kind: "process", command: ["true"] });
    }
  });

  it("Given --scale 0.01, Then steps sleep their runtime × 0.01 and hint that duration", () => {
    const file = files.find((f) => f.startsWith("epigenomics"))!;
    const { instance } = parseWfInstance(readFileSync(join(dir, file), "utf8"));
    const result = importWfCommons(instance!, { scale: 0.01, site: "lab" });
    const { spec } = validateSpec(result.yaml!);
    const step = spec!.steps.find((s) => s.name === "chr21_chr21_ID0000001")!;
    // The trace records 2.774 s for this task.
    expect(step.process!.command).toEqual(["sleep", "0.028"]);
    expect(step.hints!.durationSeconds).toBe(0.028);
    expect(step.site).toBe("lab");
    expect(Object.keys(spec!.sites)).toEqual(["lab"]);
  });

  it("Given outputs, Then outputBytes sums the sizes of the task's output files", () => {
    const file = files.find((f) => f.startsWith("epigenomics"))!;
    const { instance } = parseWfInstance(readFileSync(join(dir, file), "utf8"));
    const task = instance!.workflow.specification.tasks[0]!;
    const sizes = new Map(instance!.workflow.specification.files.map((f) => [f.id, f.sizeInBytes]));
    const { spec } = validateSpec(importWfCommons(instance!).yaml!);
    const expected = task.outputFiles.reduce((s, f) => s + sizes.get(f)!, 0);
    expect(spec!.steps[0]!.hints!.outputBytes).toBe(expected);
  });
});

describe("step names", () => {
  it("sanitizes ids to ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,79}$ and keeps them unique", () => {
    const long = "x".repeat(100);
    const names = uniqueNames(["a.b", "a_b", "_lead", long, `${long}y`, "ok-1"]);
    expect([...names.values()]).toEqual([
      "a_b",
      "a_b-2",
      "t_lead",
      "x".repeat(80),
      `${"x".repeat(78)}-2`,
      "ok-1",
    ]);
    for (const name of names.values()) expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,79}$/);
    expect(sanitizeStepName("mProject_00000001")).toBe("mProject_00000001");
  });
});

describe("parseWfInstance — problems as diagnostics with positions", () => {
  it("reports an unknown parent at its position", () => {
    const text = JSON.stringify(
      {
        name: "x",
        schemaVersion: "1.5",
        workflow: {
          specification: { tasks: [{ id: "a", parents: ["nope"] }], files: [] },
          execution: { tasks: [] },
        },
      },
      null,
      2,
    );
    const { instance } = parseWfInstance(text);
    const result = importWfCommons(instance!);
    expect(result.yaml).toBeUndefined();
    expect(result.diagnostics.find((d) => d.code === "UNKNOWN_PARENT")).toMatchObject({
      path: ["workflow", "specification", "tasks", 0, "parents", 0],
    });
  });

  it("rejects WfFormat 1.4 with a hint", () => {
    const { instance, diagnostics } = parseWfInstance(
      '{\n  "schemaVersion": "1.4",\n  "workflow": {\n    "tasks": []\n  }\n}',
    );
    expect(instance).toBeUndefined();
    expect(diagnostics[0]).toMatchObject({ code: "UNSUPPORTED_FORMAT", line: 4, col: 14 });
  });

  it("reports a missing field at its line", () => {
    const { diagnostics } = parseWfInstance(
      '{\n  "schemaVersion": "1.5",\n  "workflow": {\n    "specification": { "tasks": [ { "parents": [] } ] }\n  }\n}',
    );
    expect(diagnostics[0]).toMatchObject({ code: "MISSING_FIELD", source: "instance", line: 4 });
  });

  it("reports broken JSON as a syntax error", () => {
    const { diagnostics } = parseWfInstance('{ "schemaVersion": ');
    expect(diagnostics[0]!.code).toBe("YAML_SYNTAX");
  });
});
