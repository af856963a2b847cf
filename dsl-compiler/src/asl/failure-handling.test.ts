import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import type { CompiledWorkflow } from "../compiled.ts";
import type { StepMessage } from "../contract/step-message.ts";
import { runCompiledWorkflow } from "../interpreter/run-compiled.ts";
import { criticalPath } from "../ir/graph.ts";
import { randomDag, seededRandom } from "../testing/random-specs.ts";
import { aslMakespan } from "./makespan.ts";

/** A 1.1 spec over a DAG of no-op steps: `onFailure[v]` per step, handlers h0…, finally steps f0…. */
function specWithFailures(
  deps: number[][],
  onFailure: Array<string | undefined>,
  options: { handlers?: number; finally?: number } = {},
): CompiledWorkflow {
  const step = (name: string) => ({ name, site: "lab", process: { command: ["true"] } });
  const text = JSON.stringify({
    version: "1.1",
    name: "failures",
    sites: { lab: { type: "edge" } },
    steps: deps.map((ds, v) => ({
      ...step(`s${v}`),
      depends: ds.map((d) => `s${d}`),
      ...(onFailure[v] ? { onFailure: onFailure[v] } : {}),
    })),
    ...(options.handlers
      ? { handlers: Array.from({ length: options.handlers }, (_, i) => step(`h${i}`)) }
      : {}),
    ...(options.finally ? { finally: Array.from({ length: options.finally }, (_, i) => step(`f${i}`)) } : {}),
  });
  const { compiled, diagnostics } = compileSpec(text);
  expect(diagnostics).toEqual([]);
  return compiled!;
}

const noHttp = async () => ({ StatusCode: 200, ResponseBody: {} });

describe("failure handling keeps every bit of the DAG's parallelism", () => {
  it("makespan equals the critical path with failing steps continued or handled, on 200 random DAGs", () => {
    const random = seededRandom(1313);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 30);
      const deps = randomDag(n, random, { maxDeps: 3, window: 2 + Math.floor(random() * 8) });
      const handlers = 3;
      const onFailure = deps.map(() => {
        const r = random();
        return r < 0.3 ? "continue" : r < 0.6 ? `h${Math.floor(random() * handlers)}` : undefined;
      });
      const failing = new Set(deps.flatMap((_, v) => (onFailure[v] && random() < 0.5 ? [`s${v}`] : [])));
      const durations = new Map<string, number>();
      for (let v = 0; v < n; v++) durations.set(`s${v}`, 1 + Math.floor(random() * 50));
      for (let h = 0; h < handlers; h++) durations.set(`h${h}`, 1 + Math.floor(random() * 20));
      // Every declared handler must be used: declare only those some step names, renumbered.
      const used = new Set(onFailure.filter((o) => o?.startsWith("h")));
      const renamed = onFailure.map((o) => (o?.startsWith("h") ? `h${[...used].indexOf(o)}` : o));
      const handlerDurations = [...used].map((h) => durations.get(h!)!);
      const compiled = specWithFailures(deps, renamed, { handlers: used.size });
      const effective = (v: number) => {
        const own = durations.get(`s${v}`)!;
        const handler = renamed[v]?.startsWith("h") ? Number(renamed[v]!.slice(1)) : -1;
        return failing.has(`s${v}`) && handler >= 0 ? own + handlerDurations[handler]! : own;
      };
      const { makespan, failed } = aslMakespan(
        compiled,
        (s) => (s.startsWith("h") ? handlerDurations[Number(s.slice(1))]! : durations.get(s)!),
        { failed: (s) => failing.has(s) },
      );
      expect(failed).toBe(false);
      expect(makespan, `trial ${trial}: ${JSON.stringify({ deps, renamed, failing: [...failing] })}`).toBe(
        criticalPath(deps, effective).length,
      );
    }
  });

  it("a failure without a handler ends the run at once, and finally steps run after it", () => {
    // s0 → s1 (fails, 5) ; s2 (long, 100) in parallel; finally f0 (3)
    const compiled = specWithFailures([[], [0], []], [], { finally: 1 });
    const d: Record<string, number> = { s0: 1, s1: 5, s2: 100, f0: 3 };
    const ok = aslMakespan(compiled, (s) => d[s]!);
    expect(ok).toMatchObject({ makespan: 103, failed: false });
    const failed = aslMakespan(compiled, (s) => d[s]!, { failed: (s) => s === "s1" });
    // The Parallel stops s2 when s1 fails at t=6; the finally step runs then; the run then fails (Choice → Fail).
    expect(failed.makespan).toBe(9);
  });
});

describe("failure handling runs locally as it compiles", () => {
  function run(compiled: CompiledWorkflow, failing: Set<string>, cause?: string) {
    const seen = new Map<string, StepMessage["input"]>();
    const execution = runCompiledWorkflow(
      compiled,
      { day: 1 },
      {
        runStep: async (m) => {
          seen.set(m.step, m.input);
          if (failing.has(m.step))
            throw Object.assign(new Error(cause ?? `${m.step} broke`), { name: "Ferry.StepFailed" });
          return { from: m.step };
        },
        runHttpTask: noHttp,
      },
    );
    return { seen, result: execution.result };
  }

  it("continue hands { error, cause } to dependants, across branches too (the N shape)", async () => {
    // a → c, a → d, b → d: d's branch awaits a through the join table.
    const compiled = specWithFailures([[], [], [0], [0, 1]], ["continue"]);
    expect(Object.values(compiled.stateMachine.states).map((r) => r.kind)).toContain("await");
    // A cause with quotes, a backslash and a newline, as a step's stderr has: the join must carry it intact.
    const { seen, result } = run(compiled, new Set(["s0"]), 'exit 3: "disk" \\ full\nbye');
    const failure = { error: "Ferry.StepFailed", cause: 'exit 3: "disk" \\ full\nbye' };
    expect(await result).toEqual({ s2: { from: "s2" }, s3: { from: "s3" } });
    expect(seen.get("s2")!.deps).toEqual({ s0: failure });
    expect(seen.get("s3")!.deps).toEqual({ s0: failure, s1: { from: "s1" } });
  });

  it("a handler receives the failure and its output replaces the step's", async () => {
    const compiled = specWithFailures([[], [0]], ["h0"], { handlers: 1 });
    const { seen, result } = run(compiled, new Set(["s0"]));
    expect(await result).toEqual({ s1: { from: "s1" } });
    expect(seen.get("h0")).toEqual({
      input: { day: 1 },
      deps: {},
      failure: { error: "Ferry.StepFailed", cause: "s0 broke" },
    });
    expect(seen.get("s1")!.deps).toEqual({ s0: { from: "h0" } });
  });

  it("finally steps run after a failure, get it, and the run then fails with the step's error", async () => {
    const compiled = specWithFailures([[], [0], []], [], { finally: 2 });
    const { seen, result } = run(compiled, new Set(["s1"]));
    await expect(result).rejects.toMatchObject({ cause: { name: "Ferry.StepFailed", message: "s1 broke" } });
    const failure = { error: "Ferry.StepFailed", cause: "s1 broke" };
    expect(seen.get("f0")).toEqual({ input: { day: 1 }, deps: {}, failure });
    expect(seen.get("f1")).toEqual({ input: { day: 1 }, deps: {}, failure });
  });

  it("finally steps run after a success with failure: null, and a failing one does not stop the next", async () => {
    const compiled = specWithFailures([[], [0]], [], { finally: 2 });
    const { seen, result } = run(compiled, new Set(["f0"]));
    await expect(result).rejects.toMatchObject({ cause: { name: "Ferry.StepFailed", message: "f0 broke" } });
    expect(seen.get("f1")).toEqual({ input: { day: 1 }, deps: {}, failure: null });
    const ok = run(compiled, new Set());
    expect(await ok.result).toEqual({ s1: { from: "s1" } });
    expect(ok.seen.get("f1")!.failure).toBeNull();
  });

  it("a handler's own failure fails the run, and the finally steps still run", async () => {
    const compiled = specWithFailures([[], [0]], ["h0"], { handlers: 1, finally: 1 });
    const { seen, result } = run(compiled, new Set(["s0", "h0"]));
    await expect(result).rejects.toMatchObject({ cause: { name: "Ferry.StepFailed", message: "h0 broke" } });
    expect(seen.has("s1")).toBe(false);
    expect(seen.get("f0")!.failure).toEqual({ error: "Ferry.StepFailed", cause: "h0 broke" });
  });
});
