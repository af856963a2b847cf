import type { CompiledStateMachine, CompiledWorkflow } from "../compiled.ts";
import type { AslCatcher, AslState } from "./asl-types.ts";

export interface MakespanOptions {
  /** Steps whose Task fails (after its retries): the walk follows the Task's Catch, or the failure propagates. */
  failed?: (step: string) => boolean;
}

/** A failure travelling up the state graph: where it started and when. */
class Failure {
  constructor(readonly at: number) {}
}

/**
 * The makespan of a compiled machine under unlimited parallelism, computed
 * on the ASL itself: Task states of steps take their duration, Parallel
 * states take their slowest branch, awaits last until the awaited step's
 * signal, and every other state takes no time. Comparing this with the
 * DAG's critical path proves that compilation added no wait.
 *
 * With `failed`, a failing Task goes to its Catch target (a handler takes
 * its own duration); with no Catch the failure ends its Parallel at once
 * (Step Functions stops the other branches) and moves on to the first
 * enclosing Catch. `failed: true` in the result says the run failed.
 */
export function aslMakespan(
  compiled: Pick<CompiledWorkflow, "stateMachine" | "childStateMachines">,
  duration: (step: string) => number,
  options: MakespanOptions = {},
): { makespan: number; finish: Map<string, number>; failed: boolean } {
  const machine = compiled.stateMachine;
  const walk: Walk = {
    children: new Map(compiled.childStateMachines.map((c) => [c.id, c])),
    duration,
    failed: options.failed ?? (() => false),
    finish: new Map(),
    unresolved: 0,
  };
  // An await may name a step of a branch evaluated later; repeat until every finish time is settled.
  for (let pass = 0; pass < 10_000; pass++) {
    const before = walk.finish.size;
    walk.unresolved = 0;
    let makespan: number;
    let failed = false;
    try {
      makespan = runScope(walk, machine, machine.definition.States, machine.definition.StartAt, 0);
    } catch (error) {
      if (!(error instanceof Failure)) throw error;
      makespan = error.at;
      failed = true;
    }
    if (walk.unresolved === 0) return { makespan, finish: walk.finish, failed };
    if (walk.finish.size === before)
      throw new Error("aslMakespan: an await can never be satisfied (deadlock)");
  }
  throw new Error("aslMakespan: did not settle");
}

interface Walk {
  children: Map<string, CompiledStateMachine>;
  duration: (step: string) => number;
  failed: (step: string) => boolean;
  finish: Map<string, number>;
  unresolved: number;
}

function runScope(
  walk: Walk,
  machine: CompiledStateMachine,
  states: Record<string, AslState>,
  startAt: string,
  t0: number,
): number {
  let t = t0;
  let name: string | undefined = startAt;
  for (let guard = 0; name !== undefined; guard++) {
    if (guard > 1_000_000) throw new Error("aslMakespan: loop in state graph");
    const state: AslState = states[name]!;
    const role = machine.states[name] ?? { kind: "control" as const };
    let caughtAt: number | undefined;
    if (role.kind === "step" || role.kind === "foreach") {
      t += walk.duration(role.step);
      // A handler's Task finishes the step it handles: its waiters wake after it.
      const owner = role.kind === "step" && role.handles ? role.handles : role.step;
      if (Number.isFinite(t)) walk.finish.set(owner, t);
      if (role.kind === "step" && !role.handles && walk.failed(role.step)) caughtAt = t;
    } else if (role.kind === "child") {
      const child = walk.children.get(role.machine)!;
      t = runScope(walk, child, child.definition.States, child.definition.StartAt, t);
    } else if (role.kind === "await") {
      const done = walk.finish.get(role.dep);
      if (done === undefined) walk.unresolved++;
      t = Math.max(t, done ?? Number.POSITIVE_INFINITY);
    }
    if (state.Type === "Parallel") {
      let end = t;
      let failedAt = Number.POSITIVE_INFINITY;
      for (const branch of state.Branches) {
        try {
          end = Math.max(end, runScope(walk, machine, branch.States, branch.StartAt, t));
        } catch (error) {
          if (!(error instanceof Failure)) throw error;
          failedAt = Math.min(failedAt, error.at);
        }
      }
      if (Number.isFinite(failedAt)) caughtAt = failedAt;
      else t = end;
    }
    if (caughtAt !== undefined) {
      const katch: AslCatcher | undefined = "Catch" in state ? state.Catch?.[0] : undefined;
      if (!katch) throw new Failure(caughtAt);
      t = caughtAt;
      name = katch.Next;
      continue;
    }
    if (state.Type === "Choice") name = state.Default;
    else if (state.Type === "Succeed" || state.Type === "Fail") name = undefined;
    else name = state.Next;
  }
  return t;
}
