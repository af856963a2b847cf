import type { CompiledStateMachine, CompiledWorkflow } from "../compiled.ts";
import type { AslState } from "./asl-types.ts";

/**
 * The makespan of a compiled machine under unlimited parallelism, computed
 * on the ASL itself: Task states of steps take their duration, Parallel
 * states take their slowest branch, awaits last until the awaited step's
 * finish, and every other state takes no time. Comparing this with the
 * DAG's critical path proves that compilation added no wait.
 */
export function aslMakespan(
  compiled: Pick<CompiledWorkflow, "stateMachine" | "childStateMachines">,
  duration: (step: string) => number,
): { makespan: number; finish: Map<string, number> } {
  const machine = compiled.stateMachine;
  const children = new Map(compiled.childStateMachines.map((c) => [c.id, c]));
  const finish = new Map<string, number>();
  // An await may name a step of a branch evaluated later; repeat until every finish time is settled.
  for (let pass = 0; pass < 10_000; pass++) {
    const before = finish.size;
    const unresolved = { count: 0 };
    const makespan = runScope(
      machine,
      children,
      machine.definition.States,
      machine.definition.StartAt,
      0,
      duration,
      finish,
      unresolved,
    );
    if (unresolved.count === 0) return { makespan, finish };
    if (finish.size === before) throw new Error("aslMakespan: an await can never be satisfied (deadlock)");
  }
  throw new Error("aslMakespan: did not settle");
}

function runScope(
  machine: CompiledStateMachine,
  children: Map<string, CompiledStateMachine>,
  states: Record<string, AslState>,
  startAt: string,
  t0: number,
  duration: (step: string) => number,
  finish: Map<string, number>,
  unresolved: { count: number },
): number {
  let t = t0;
  let name: string | undefined = startAt;
  for (let guard = 0; name !== undefined; guard++) {
    if (guard > 1_000_000) throw new Error("aslMakespan: loop in state graph");
    const state: AslState = states[name]!;
    const role = machine.states[name] ?? { kind: "control" as const };
    if (role.kind === "step" || role.kind === "foreach") {
      t += duration(role.step);
      if (Number.isFinite(t)) finish.set(role.step, t);
    } else if (role.kind === "child") {
      const child = children.get(role.machine)!;
      t = runScope(
        child,
        children,
        child.definition.States,
        child.definition.StartAt,
        t,
        duration,
        finish,
        unresolved,
      );
    } else if (role.kind === "await") {
      const done = finish.get(role.dep);
      if (done === undefined) unresolved.count++;
      t = Math.max(t, done ?? Number.POSITIVE_INFINITY);
    }
    if (state.Type === "Parallel") {
      let end = t;
      for (const branch of state.Branches)
        end = Math.max(
          end,
          runScope(machine, children, branch.States, branch.StartAt, t, duration, finish, unresolved),
        );
      t = end;
    }
    if (state.Type === "Choice") name = state.Default;
    else if (state.Type === "Succeed") name = undefined;
    else name = state.Next;
  }
  return t;
}
