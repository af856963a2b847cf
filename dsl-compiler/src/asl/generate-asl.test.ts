import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import type { CompiledWorkflow } from "../compiled.ts";
import { runCompiledWorkflow } from "../interpreter/run-compiled.ts";
import { buildIr } from "../ir/build-ir.ts";
import { criticalPath } from "../ir/graph.ts";
import { braidDag, randomDag, seededRandom, specForDag } from "../testing/random-specs.ts";
import { validateSpec } from "../validate.ts";
import type { AslState } from "./asl-types.ts";
import { generateAsl } from "./generate-asl.ts";
import { aslMakespan } from "./makespan.ts";
import { limitsFor } from "./split.ts";

function compileDag(deps: number[][]): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(specForDag(deps));
  expect(diagnostics).toEqual([]);
  return compiled!;
}

describe("generateAsl keeps every bit of the DAG's parallelism", () => {
  it("matches the critical path on 300 random DAGs with random durations", () => {
    const random = seededRandom(42);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(random() * 40);
      const deps = randomDag(n, random, {
        maxDeps: 1 + Math.floor(random() * 4),
        window: 2 + Math.floor(random() * 10),
      });
      const durations = deps.map(() => 1 + Math.floor(random() * 100));
      const compiled = compileDag(deps);
      const { makespan } = aslMakespan(compiled, (step) => durations[Number(step.slice(1))]!);
      expect(makespan, `trial ${trial}: ${JSON.stringify(deps)}`).toBe(
        criticalPath(deps, (v) => durations[v]!).length,
      );
    }
  });

  it("starts every step exactly when its last dependency finishes", () => {
    const random = seededRandom(7);
    const deps = randomDag(60, random, { maxDeps: 3, window: 6 });
    const durations = deps.map(() => 1 + Math.floor(random() * 50));
    const { finish } = aslMakespan(compileDag(deps), (step) => durations[Number(step.slice(1))]!);
    deps.forEach((ds, v) => {
      const ready = Math.max(0, ...ds.map((d) => finish.get(`s${d}`)!));
      expect(finish.get(`s${v}`)).toBe(ready + durations[v]!);
    });
  });

  it("compiles the N-shaped DAG (not series-parallel) with a join instead of a barrier", () => {
    // a → c, a → d, b → d
    const compiled = compileDag([[], [], [0], [0, 1]]);
    expect(compiled.substitutions.joinTable).toBe("JoinTable");
    const roles = Object.values(compiled.stateMachine.states).map((r) => r.kind);
    expect(roles).toContain("await");
    expect(roles).toContain("signal");
    const { makespan } = aslMakespan(compiled, (s) => ({ s0: 1, s1: 10, s2: 5, s3: 1 })[s]!);
    expect(makespan).toBe(11);
  });

  it("nests fan-outs wider than 40 branches without delaying any step", async () => {
    // A zig-zag of 100 sources and 100 sinks: not series-parallel, 100 chains joined pairwise.
    const n = 100;
    const deps = [
      ...Array.from({ length: n }, () => []),
      ...Array.from({ length: n }, (_, i) => (i + 1 < n ? [i, i + 1] : [i])),
    ];
    const compiled = compileDag(deps);
    const widths: number[] = [];
    const walk = (states: Record<string, AslState>) => {
      for (const s of Object.values(states)) {
        if (s.Type === "Parallel") {
          widths.push(s.Branches.length);
          for (const b of s.Branches) walk(b.States);
        }
      }
    };
    walk(compiled.stateMachine.definition.States);
    expect(Math.max(...widths)).toBeLessThanOrEqual(40);
    const durations = deps.map((_, v) => 1 + (v % 7));
    expect(aslMakespan(compiled, (s) => durations[Number(s.slice(1))]!).makespan).toBe(
      criticalPath(deps, (v) => durations[v]!).length,
    );
    const output = await runCompiledWorkflow(
      compiled,
      {},
      {
        runStep: async (m) => ({ from: m.step }),
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    expect(Object.keys(output as object)).toHaveLength(n);
  });

  it("needs no join table for series-parallel DAGs", () => {
    const compiled = compileDag([[], [0], [0], [1, 2], [3]]);
    expect(compiled.substitutions.joinTable).toBeUndefined();
  });
});

describe("compiled machines run locally and pass data per the contract", () => {
  it("gives each step its dependencies' outputs and returns the sinks' outputs", async () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 25; trial++) {
      const deps = randomDag(2 + Math.floor(random() * 14), random, { maxDeps: 3, window: 5 });
      const compiled = compileDag(deps);
      const seen = new Map<string, unknown>();
      const execution = runCompiledWorkflow(
        compiled,
        { greeting: "hi" },
        {
          runStep: async (message) => {
            seen.set(message.step, message.input);
            await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
            return { from: message.step };
          },
          runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
        },
      );
      const output = (await execution.result) as Record<string, unknown>;
      deps.forEach((ds, v) => {
        expect(seen.get(`s${v}`)).toEqual({
          input: { greeting: "hi" },
          deps: Object.fromEntries(ds.map((d) => [`s${d}`, { from: `s${d}` }])),
        });
      });
      expect(output).toEqual(Object.fromEntries(compiled.ir.sinks.map((s) => [s, { from: s }])));
    }
  });
});

describe("long sequences", () => {
  it("drop outputs no later step reads, and still pass every dependency's output", async () => {
    // A 300-step chain where each step also reads the output from 5 steps back.
    const deps = Array.from({ length: 300 }, (_, v) => (v === 0 ? [] : v < 5 ? [v - 1] : [v - 5, v - 1]));
    const compiled = compileDag(deps);
    const prunes = Object.keys(compiled.stateMachine.states).filter((name) => name.startsWith("prune."));
    expect(prunes.length).toBeGreaterThan(10);
    const output = await runCompiledWorkflow(
      compiled,
      {},
      {
        runStep: async (m) => {
          expect(Object.keys(m.input.deps).sort()).toEqual(
            deps[Number(m.step.slice(1))]!.map((d) => `s${d}`).sort(),
          );
          return { from: m.step, padding: "x".repeat(100) };
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    expect(output).toEqual({ s299: { from: "s299", padding: "x".repeat(100) } });
    const lastStates = compiled.stateMachine.definition.States;
    const prune = lastStates[prunes.at(-1)!] as unknown as {
      Parameters: { results: Record<string, string> };
    };
    expect(Object.keys(prune.Parameters.results).length).toBeLessThanOrEqual(6);
  });
});

describe("workflows beyond one state machine's limits", () => {
  it("compile at 10,000 steps into machines under Step Functions' 1 MB definition limit", () => {
    const deps = randomDag(10_000, seededRandom(99), { maxDeps: 3, window: 10 });
    const compiled = compileDag(deps);
    const machines = [compiled.stateMachine, ...compiled.childStateMachines];
    expect(machines.length).toBeGreaterThan(1);
    for (const m of machines) expect(Buffer.byteLength(JSON.stringify(m.definition))).toBeLessThan(1_000_000);
    const steps = new Set(
      machines.flatMap((m) => Object.values(m.states).flatMap((r) => (r.kind === "step" ? [r.step] : []))),
    );
    expect(steps.size).toBe(10_000);
  });

  it("are split into child machines that keep the critical path and run locally", async () => {
    const random = seededRandom(11);
    const deps = randomDag(120, random, { maxDeps: 3, window: 6 });
    const { compiled } = compileSpec(specForDag(deps));
    // Re-generate with tiny limits to force splitting on a small workflow.
    const { generateAsl } = await import("./generate-asl.ts");
    const split = generateAsl(compiled!.ir, { maxBytes: 20_000, maxEvents: 200 });
    expect(split.childStateMachines.length).toBeGreaterThan(2);
    for (const m of [split.stateMachine, ...split.childStateMachines]) {
      expect(JSON.stringify(m.definition).length).toBeLessThanOrEqual(20_000 + 2_000);
    }
    const durations = deps.map(() => 1 + Math.floor(random() * 20));
    const { makespan } = aslMakespan(split, (step) => durations[Number(step.slice(1))]!);
    expect(makespan).toBe(criticalPath(deps, (v) => durations[v]!).length);
    const workflow = { ...compiled!, ...split };
    const seen = new Map<string, unknown>();
    const output = await runCompiledWorkflow(
      workflow,
      {},
      {
        runStep: async (m) => {
          seen.set(m.step, m.input.deps);
          return { from: m.step };
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    expect(seen.size).toBe(deps.length);
    deps.forEach((ds, v) => {
      expect(seen.get(`s${v}`)).toEqual(Object.fromEntries(ds.map((d) => [`s${d}`, { from: `s${d}` }])));
    });
    expect(output).toEqual(Object.fromEntries(compiled!.ir.sinks.map((s) => [s, { from: s }])));
  });
});

describe("the splitLimit compile option", () => {
  const deps = braidDag(3, 16, 4);

  it("splits a 48-step workflow with joins into child machines that await each other's steps, and it runs locally", async () => {
    expect(compileDag(deps).childStateMachines).toEqual([]);
    const { compiled, diagnostics } = compileSpec(specForDag(deps), { splitLimit: 100 });
    expect(diagnostics).toEqual([]);
    const machines = [compiled!.stateMachine, ...compiled!.childStateMachines];
    expect(compiled!.childStateMachines.length).toBeGreaterThanOrEqual(4);
    const machineOf = new Map<string, string>();
    for (const m of machines)
      for (const role of Object.values(m.states)) if (role.kind === "step") machineOf.set(role.step, m.id);
    expect(machineOf.size).toBe(deps.length);
    for (const m of compiled!.childStateMachines)
      expect([...machineOf.values()].filter((id) => id === m.id).length).toBeLessThanOrEqual(100 / 6);
    const crossing = machines.flatMap((m) =>
      Object.values(m.states).flatMap((role) =>
        role.kind === "await" && machineOf.get(role.dep) !== m.id ? [`${role.step} awaits ${role.dep}`] : [],
      ),
    );
    expect(crossing.length).toBeGreaterThan(0);
    // Each step outputs how many paths reach it: a dependency's output lost or misrouted changes the sinks'.
    const paths = deps.map(() => 0);
    deps.forEach((ds, v) => {
      paths[v] = ds.length === 0 ? 1 : ds.reduce((sum, d) => sum + paths[d]!, 0);
    });
    const output = await runCompiledWorkflow(
      compiled!,
      {},
      {
        runStep: async (m) => {
          const seen = Object.values(m.input.deps as Record<string, { paths: number }>);
          return { paths: seen.length === 0 ? 1 : seen.reduce((sum, d) => sum + d.paths, 0) };
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    expect(output).toEqual(
      Object.fromEntries(compiled!.ir.sinks.map((s) => [s, { paths: paths[Number(s.slice(1))] }])),
    );
  });

  it.each([0, 11, -100, 12.5, Number.NaN, Number.POSITIVE_INFINITY, 6_001])(
    "refuses %s with a diagnostic naming the option",
    (splitLimit) => {
      const { compiled, diagnostics } = compileSpec(specForDag(deps), { splitLimit });
      expect(compiled).toBeUndefined();
      expect(diagnostics).toEqual([
        expect.objectContaining({
          code: "INVALID_OPTION",
          severity: "error",
          message: expect.stringMatching(
            /^the split limit \(compile option splitLimit, ferry --split-limit\) must be /,
          ),
        }),
      ]);
    },
  );

  it("accepts the bounds, 12 and the default 6,000", () => {
    expect(
      compileSpec(specForDag(deps), { splitLimit: 12 }).compiled!.childStateMachines.length,
    ).toBeGreaterThan(10);
    expect(compileSpec(specForDag(deps), { splitLimit: 6_000 }).compiled!.childStateMachines).toEqual([]);
  });
});

describe("heartbeatSeconds", () => {
  const spec = (heartbeat: number) => `
name: beat
sites: { lab: { type: edge } }
defaults: { timeoutSeconds: 60, heartbeatSeconds: ${heartbeat} }
steps:
  - name: a
    site: lab
    process: { command: ["true"] }
`;
  const taskOf = (compiled: CompiledWorkflow) =>
    Object.values(compiled.stateMachine.definition.States).find((s) => s.Type === "Task") as
      | { HeartbeatSeconds?: number; TimeoutSeconds?: number }
      | undefined;

  it("Given heartbeatSeconds 0, Then the task has its timeout and no heartbeat", () => {
    const { compiled, diagnostics } = compileSpec(spec(0));
    expect(diagnostics).toEqual([]);
    expect(taskOf(compiled!)).toMatchObject({ TimeoutSeconds: 60 });
    expect(taskOf(compiled!)!.HeartbeatSeconds).toBeUndefined();
  });

  it("Given a heartbeat shorter than the timeout, Then the task carries it", () => {
    const { compiled } = compileSpec(spec(20));
    expect(taskOf(compiled!)!.HeartbeatSeconds).toBe(20);
  });
});

describe("Distributed Maps", () => {
  const spec = (steps: number) =>
    JSON.stringify({
      version: "1.1",
      name: "big-map",
      sites: { lab: { type: "edge" } },
      steps: [
        { name: "make", site: "lab", process: { command: ["true"] }, outputs: ["rows.json"] },
        ...Array.from({ length: steps }, (_, i) => ({
          name: `s${i}`,
          site: "lab",
          depends: [i === 0 ? "make" : `s${i - 1}`],
          process: { command: ["true"] },
        })),
        {
          name: "each",
          site: "lab",
          depends: [`s${steps - 1}`, "make"],
          foreach: { records: "rows.json" },
          process: { command: ["true"] },
        },
      ],
    });
  const findMap = (states: Record<string, AslState>): AslState | undefined =>
    Object.values(states).find((s) => s.Type === "Map");

  it("names the results folder by the root execution: from the context in the root, from the child's input in a child machine", async () => {
    const { compiled } = compileSpec(spec(3));
    const root = findMap(compiled!.stateMachine.definition.States) as Extract<AslState, { Type: "Map" }>;
    expect(root.ResultWriter!.Parameters["Prefix.$"]).toBe(
      "States.Format('big-map/lab/{}/.ferry/foreach/each', $$.Execution.Name)",
    );
    const { generateAsl } = await import("./generate-asl.ts");
    const split = generateAsl(compileSpec(spec(60)).compiled!.ir, { maxBytes: 20_000, maxEvents: 200 });
    const inChild = split.childStateMachines
      .map((c) => findMap(c.definition.States))
      .find(Boolean) as Extract<AslState, { Type: "Map" }>;
    expect(inChild.ResultWriter!.Parameters["Prefix.$"]).toBe(
      "States.Format('big-map/lab/{}/.ferry/foreach/each', States.ArrayGetItem(States.StringSplit($$.Execution.Input.ferry.prefix, '/'), 1))",
    );
  });
});

describe("the split pass reuses the first pass's leaves", () => {
  const irOf = (text: string) => buildIr(validateSpec(text).spec!);
  const outputOf = (g: ReturnType<typeof generateAsl>) =>
    JSON.stringify([g.stateMachine, g.childStateMachines, g.substitutions]);

  it("emits the same machines as a second pass that makes every leaf again, on 200 random DAGs and split limits", () => {
    const random = seededRandom(2024);
    let split = 0;
    for (let trial = 0; trial < 200; trial++) {
      const deps = randomDag(10 + Math.floor(random() * 120), random, {
        maxDeps: 1 + Math.floor(random() * 4),
        window: 2 + Math.floor(random() * 12),
      });
      const limit = 12 + Math.floor(random() * 200);
      const ir = irOf(specForDag(deps));
      const limits = limitsFor(limit);
      const reused = generateAsl(ir, limits);
      const fresh = generateAsl(irOf(specForDag(deps)), limits, false);
      if (reused.childStateMachines.length > 0) split++;
      expect(outputOf(reused), `trial ${trial}, limit ${limit}: ${JSON.stringify(deps)}`).toBe(
        outputOf(fresh),
      );
    }
    // The property is only tested where the workflow is split.
    expect(split).toBeGreaterThan(150);
  });

  it("compiles the 10,000-step random DAG of bench/compile.ts exactly as before reuse", () => {
    const text = specForDag(randomDag(10_000, seededRandom(10_000), { maxDeps: 3, window: 10 }), {
      name: "bench-10000",
    });
    const { compiled } = compileSpec(text);
    expect(compiled!.childStateMachines).toHaveLength(41);
    // sha256 of the output of the compiler before the second pass reused leaves.
    expect(createHash("sha256").update(JSON.stringify(compiled)).digest("hex")).toBe(
      "d132b79837bacf560338f9b35b86b2dff2fe13adba3db636b4294fa7f402e6df",
    );
  }, 120_000);
});
