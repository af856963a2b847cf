import type { CompiledStateMachine } from "../compiled.ts";
import { executionPrefixFormat } from "../contract/bucket-keys.ts";
import { START_OPTIONS_KEY } from "../contract/step-message.ts";
import { dagSteps, type IrStep, type WorkflowIr } from "../ir/ir.ts";
import type { AslDefinition, AslState } from "./asl-types.ts";
import { withFailureHandling } from "./failure-states.ts";
import { finallyStates } from "./finally-states.ts";
import { awaitStates, remotePath, signalStates } from "./join-states.ts";
import { keyPath, StateNamer } from "./names.ts";
import { baseSlots, type SubstitutionSlots, slotRef } from "./slots.ts";
import {
  type BlockCost,
  DEFAULT_LIMITS,
  type MachineLimits,
  STEP_EVENTS,
  splitIntoMachines,
} from "./split.ts";
import type { StateIndex } from "./state-index.ts";
import { stepStates } from "./step-state.ts";
import { type Block, buildStructure } from "./structure.ts";

export const START_CHILD_SYNC = "arn:aws:states:::states:startExecution.sync:2";

/** Dead outputs a sequence may carry before a Pass state drops them. */
export const PRUNE_AFTER = 16;

export interface GeneratedAsl {
  stateMachine: CompiledStateMachine;
  /** Children first: each only references machines listed before it. */
  childStateMachines: CompiledStateMachine[];
  substitutions: SubstitutionSlots;
}

/**
 * IR → Amazon States Language. A pure function: the embedded runtime,
 * LocalStack and AWS all run exactly this definition.
 *
 * The state carried between states is
 * `{ ferry: { execution, prefix, noCache }, input, results: { <step>: output }, remote }`:
 * each step reads its dependencies from `results` (or `remote`, for one
 * produced in another branch) and writes its own output to `results`.
 * Parallel states pass on only the results still needed later, so the
 * payload stays small in wide workflows.
 */
export function generateAsl(
  ir: WorkflowIr,
  limits: MachineLimits = DEFAULT_LIMITS,
  /** False makes the second pass emit every leaf again: for tests that check reuse changes nothing. */
  reuseLeaves = true,
): GeneratedAsl {
  const index = new Map(ir.steps.map((s, i) => [s.name, i]));
  // Handlers and finally steps come after the DAG's steps in the IR, so node numbers are the same.
  const block = buildStructure(dagSteps(ir).map((s) => s.depends.map((d) => index.get(d)!)));
  const slots = baseSlots(ir);
  if (usesJoins(block)) slots.joinTable = "JoinTable";
  // First pass measures every block; a second pass runs only when the workflow must be split.
  const first = new Emitter(ir, slots, true);
  const root = first.root(block);
  const planned = splitIntoMachines(block, (b) => first.costs.get(b)!, limits);
  if (planned === block) return { stateMachine: root, childStateMachines: [], substitutions: slots };
  // Most leaves come out the same in both passes: the second reuses them (see `leaf`).
  const second = new Emitter(ir, slots, false, reuseLeaves ? first.leaves : undefined);
  const stateMachine = second.root(planned);
  return { stateMachine, childStateMachines: second.children, substitutions: slots };
}

function usesJoins(block: Block): boolean {
  if (block.kind === "await" || block.kind === "signal") return true;
  if (block.kind === "seq") return block.items.some(usesJoins);
  if (block.kind === "par") return block.branches.some(usesJoins);
  if (block.kind === "child") return usesJoins(block.block);
  return false;
}

type Scope = Record<string, AslState>;
type LeafOut = { states: Record<string, AslState>; index: StateIndex; entry: string };
/** A leaf block's emitted states with what they were made from. */
interface LeafRecord {
  next: string | undefined;
  /** Whether the states were made in a child machine, if they depend on it. */
  inChildMachine: boolean | undefined;
  /** The names the leaf took, each its first choice. */
  names: string[];
  out: LeafOut;
}
interface Emitted {
  entry: string;
  liveIn: Set<number>;
}

class Emitter {
  /** Size and estimated history events of every block emitted. */
  readonly costs = new Map<Block, BlockCost>();
  readonly children: CompiledStateMachine[] = [];
  /** The first pass's leaves, for the second to reuse. */
  readonly leaves = new Map<Block, LeafRecord>();
  private index: StateIndex = {};
  /** Child machines being emitted around the current block: a Distributed Map names its execution differently there. */
  private childDepth = 0;
  private readonly namer: StateNamer;
  private readonly awaited = new Map<number, Set<number>>();
  private readonly nodeIndex: Map<string, number>;
  private readonly handlers: Map<string, IrStep>;
  private forks = 0;
  private prunes = 0;

  constructor(
    private readonly ir: WorkflowIr,
    private readonly slots: SubstitutionSlots,
    /** Record each block's cost; only the first pass needs it, to plan the split. */
    private readonly measure: boolean,
    /** Leaves of an earlier pass over the same IR and slots. */
    private readonly reuse?: Map<Block, LeafRecord>,
  ) {
    this.namer = new StateNamer(ir.steps.map((s) => s.name));
    this.nodeIndex = new Map(ir.steps.map((s, i) => [s.name, i]));
    this.handlers = new Map(ir.steps.filter((s) => s.phase === "handler").map((s) => [s.name, s]));
  }

  root(block: Block): CompiledStateMachine {
    this.collectAwaits(block);
    const states: Scope = {};
    const options = this.namer.aux("workflow", "options");
    const start = this.namer.aux("workflow", "start");
    const startWithOptions = this.namer.aux("workflow", "start-with-options");
    const finish = this.namer.aux("workflow", "output");
    const sinks = new Set(this.ir.sinks.map((s) => this.nodeOf(s)));
    const finallySteps = this.ir.steps.filter((s) => s.phase === "finally");
    let body: Emitted;
    if (finallySteps.length === 0) body = this.emit(block, states, finish, sinks);
    else {
      const inner: Scope = {};
      const emitted = this.emit(block, inner, undefined, sinks);
      const wrapped = finallyStates(
        { entry: emitted.entry, states: inExecutionOrder(inner, emitted.entry) },
        finallySteps,
        { workflow: this.ir.name, slots: this.slots },
        this.namer,
        finish,
      );
      this.add(states, wrapped);
      body = { entry: wrapped.entry, liveIn: emitted.liveIn };
    }
    const ferry = {
      "execution.$": "$$.Execution.Id",
      "prefix.$": `States.Format('${executionPrefixFormat(this.ir.name)}', $$.Execution.Name)`,
    };
    // `ferry start --no-cache` wraps the input in an envelope (`START_OPTIONS_KEY`); any other input is the workflow's.
    states[options] = {
      Type: "Choice",
      Comment: "execution options given by ferry start, if any",
      Choices: [
        {
          And: [
            { Variable: `$.${START_OPTIONS_KEY}`, IsPresent: true },
            { Variable: `$.${START_OPTIONS_KEY}.noCache`, IsPresent: true },
            // Anything but a boolean would make every step message invalid: such an input is the workflow's own.
            { Variable: `$.${START_OPTIONS_KEY}.noCache`, IsBoolean: true },
            { Variable: "$.input", IsPresent: true },
          ],
          Next: startWithOptions,
        },
      ],
      Default: start,
    };
    states[startWithOptions] = {
      Type: "Pass",
      Comment: "the state every step reads from and writes to, with ferry start's options",
      Parameters: {
        ferry: { ...ferry, "noCache.$": `$.${START_OPTIONS_KEY}.noCache` },
        "input.$": "$.input",
        results: {},
        remote: {},
      },
      Next: body.entry,
    };
    states[start] = {
      Type: "Pass",
      Comment: "the state every step reads from and writes to",
      Parameters: { ferry: { ...ferry, noCache: false }, "input.$": "$", results: {}, remote: {} },
      Next: body.entry,
    };
    states[finish] = {
      Type: "Pass",
      Comment: "the workflow's output: its sink steps' outputs",
      Parameters: Object.fromEntries(this.ir.sinks.map((s) => [`${s}.$`, keyPath("$.results", s)])),
      End: true,
    };
    this.index[options] = { kind: "control" };
    this.index[start] = { kind: "control" };
    this.index[startWithOptions] = { kind: "control" };
    this.index[finish] = { kind: "control" };
    const definition: AslDefinition = {
      Comment: `Ferry workflow ${this.ir.name}${this.ir.description ? `: ${this.ir.description}` : ""}`,
      StartAt: options,
      States: inExecutionOrder(states, options),
    };
    return { id: "root", definition, states: this.index };
  }

  /** Emits `block` into `scope`, continuing at `next` (or ending the scope); returns its entry state and the results it reads. */
  private emit(block: Block, scope: Scope, next: string | undefined, liveOut: Set<number>): Emitted {
    switch (block.kind) {
      case "step": {
        const step = this.ir.steps[block.node]!;
        const remote = this.awaited.get(block.node) ?? new Set();
        const out = this.leaf(block, next, (inChildMachine) => {
          const depPaths = Object.fromEntries(
            step.depends.map((d) => [
              d,
              remote.has(this.nodeOf(d)) ? remotePath(d) : keyPath("$.results", d),
            ]),
          );
          const ctx = {
            workflow: this.ir.name,
            slots: this.slots,
            depPaths,
            mapName: this.namer.aux(step.name, "foreach"),
            // Read only by the steps whose states differ in a child machine.
            get inChildMachine() {
              return inChildMachine();
            },
          };
          return withFailureHandling(step, stepStates(step, ctx, next), ctx, this.namer, this.handlers, next);
        });
        this.add(scope, out, block);
        const liveIn = new Set(liveOut);
        liveIn.delete(block.node);
        for (const d of step.depends) if (!remote.has(this.nodeOf(d))) liveIn.add(this.nodeOf(d));
        return { entry: out.entry, liveIn };
      }
      case "await": {
        const out = this.leaf(block, next, () =>
          awaitStates(
            this.ir.steps[block.node]!.name,
            this.ir.steps[block.dep]!.name,
            this.slots.joinTable!,
            this.namer,
            next,
          ),
        );
        this.add(scope, out, block);
        return { entry: out.entry, liveIn: liveOut };
      }
      case "signal": {
        const out = this.leaf(block, next, () =>
          signalStates(this.ir.steps[block.node]!.name, this.slots.joinTable!, this.namer, next),
        );
        this.add(scope, out, block);
        return { entry: out.entry, liveIn: new Set([...liveOut, block.node]) };
      }
      case "seq": {
        let entry = next;
        let live = liveOut;
        const cost: BlockCost = { bytes: 0, events: 0 };
        const prunes = this.prunePoints(block.items, liveOut);
        for (let i = block.items.length - 1; i >= 0; i--) {
          const item = block.items[i]!;
          const out = this.emit(item, scope, entry, live);
          entry = out.entry;
          live = out.liveIn;
          if (this.measure) addCost(cost, this.costs.get(item)!);
          if (prunes.has(i)) {
            const name = this.namer.aux("prune", String(++this.prunes));
            scope[name] = {
              Type: "Pass",
              Comment: "forget outputs no later step reads",
              Parameters: this.stateSelector("$", live),
              Next: entry,
            };
            this.index[name] = { kind: "control" };
            if (this.measure) addCost(cost, { bytes: JSON.stringify(scope[name]).length, events: 2 });
            entry = name;
          }
        }
        if (entry === undefined) throw new Error("generateAsl: empty sequence");
        this.costs.set(block, cost);
        return { entry, liveIn: live };
      }
      case "par":
        return this.emitParallel(block, scope, next, liveOut);
      case "child":
        return this.emitChild(block, scope, next, liveOut);
    }
  }

  private emitParallel(
    block: Extract<Block, { kind: "par" }>,
    scope: Scope,
    next: string | undefined,
    liveOut: Set<number>,
  ): Emitted {
    const selectors: Record<string, string> = {};
    const liveIn = new Set<number>();
    const cost: BlockCost = { bytes: 0, events: 4 };
    const liveOuts = branchLiveOuts(block.branches, liveOut);
    const branches = block.branches.map((branch, i) => {
      const branchLiveOut = liveOuts[i]!;
      for (const x of branchLiveOut)
        selectors[`${this.ir.steps[x]!.name}.$`] = keyPath(`$[${i}].results`, this.ir.steps[x]!.name);
      const states: Scope = {};
      const out = this.emit(branch, states, undefined, branchLiveOut);
      for (const x of out.liveIn) liveIn.add(x);
      if (this.measure) addCost(cost, this.costs.get(branch)!);
      cost.events += 2;
      return { StartAt: out.entry, States: inExecutionOrder(states, out.entry) };
    });
    const name = this.namer.aux(
      "fork",
      String(++this.forks),
      this.ir.steps[firstNode(block.branches[0]!)]!.name,
    );
    const parallel: AslState = {
      Type: "Parallel",
      Parameters: this.stateSelector("$", liveIn),
      Branches: branches,
      ResultSelector: { "ferry.$": "$[0].ferry", "input.$": "$[0].input", results: selectors, remote: {} },
      ...(next === undefined ? { End: true } : { Next: next }),
    };
    scope[name] = parallel;
    this.index[name] = { kind: "control" };
    if (this.measure) cost.bytes += JSON.stringify({ ...parallel, Branches: [] }).length;
    this.costs.set(block, cost);
    return { entry: name, liveIn };
  }

  /** Emits the child's own machine and, in the parent, a Task that runs it to completion. */
  private emitChild(
    block: Extract<Block, { kind: "child" }>,
    scope: Scope,
    next: string | undefined,
    liveOut: Set<number>,
  ): Emitted {
    const parentIndex = this.index;
    this.index = {};
    const states: Scope = {};
    this.childDepth++;
    const out = this.emit(block.block, states, undefined, liveOut);
    this.childDepth--;
    this.children.push({
      id: block.id,
      definition: {
        Comment: `Ferry workflow ${this.ir.name}, part ${block.id}`,
        StartAt: out.entry,
        States: inExecutionOrder(states, out.entry),
      },
      states: this.index,
    });
    this.index = parentIndex;
    const slot = `StateMachineArn_${block.id.replace(/[^A-Za-z0-9]/g, "_")}`;
    this.slots.childStateMachines[block.id] = slot;
    const name = this.namer.aux("run", block.id);
    const task: AslState = {
      Type: "Task",
      Comment: `run part ${block.id} of the workflow as a child execution`,
      Resource: START_CHILD_SYNC,
      Parameters: {
        StateMachineArn: slotRef(slot),
        Input: {
          ...this.stateSelector("$", out.liveIn),
          "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
        },
      },
      // No ResultPath: the selected result replaces the state, as the child's output is the state.
      ResultSelector: {
        "ferry.$": "$.Output.ferry",
        "input.$": "$.Output.input",
        "results.$": "$.Output.results",
        remote: {},
      },
      ...(next === undefined ? { End: true } : { Next: next }),
    };
    this.add(
      scope,
      { states: { [name]: task }, index: { [name]: { kind: "child", machine: block.id } } },
      block,
    );
    return { entry: name, liveIn: out.liveIn };
  }

  /**
   * Where a long sequence should drop outputs no later step reads: before an
   * item (never between an await and its step) once PRUNE_AFTER dead outputs
   * have piled up. Without it a 1,000-step chain carries all 1,000 outputs to
   * its end, against Step Functions' 256 KiB payload limit.
   */
  private prunePoints(items: Block[], liveOut: Set<number>): Set<number> {
    const points = new Set<number>();
    if (items.length <= PRUNE_AFTER) return points;
    const liveIns: Set<number>[] = [];
    let live = liveOut;
    for (let i = items.length - 1; i >= 0; i--) liveIns[i] = live = this.liveBefore(items[i]!, live);
    let held = new Set(liveIns[0]);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i > 0 && items[i - 1]!.kind !== "await" && (item.kind === "step" || item.kind === "await")) {
        let dead = 0;
        for (const x of held) if (!liveIns[i]!.has(x)) dead++;
        if (dead >= PRUNE_AFTER) {
          points.add(i);
          held = new Set(liveIns[i]);
        }
      }
      for (const x of definedIn(item)) held.add(x);
    }
    return points;
  }

  /** The results a block reads (what must be in the state when it starts), given those needed after it; mirrors `emit`. */
  private liveBefore(block: Block, liveOut: Set<number>): Set<number> {
    switch (block.kind) {
      case "step": {
        const remote = this.awaited.get(block.node);
        const live = new Set(liveOut);
        live.delete(block.node);
        for (const d of this.ir.steps[block.node]!.depends)
          if (!remote?.has(this.nodeOf(d))) live.add(this.nodeOf(d));
        return live;
      }
      case "await":
        return liveOut;
      case "signal":
        return new Set([...liveOut, block.node]);
      case "seq":
        return block.items.reduceRight((live, item) => this.liveBefore(item, live), liveOut);
      case "par": {
        const live = new Set<number>();
        branchLiveOuts(block.branches, liveOut).forEach((out, i) => {
          for (const x of this.liveBefore(block.branches[i]!, out)) live.add(x);
        });
        return live;
      }
      case "child":
        return this.liveBefore(block.block, liveOut);
    }
  }

  /** The state with only the given results: what a Parallel or child machine needs as input. */
  private stateSelector(base: string, results: Set<number>): Record<string, unknown> {
    return {
      "ferry.$": `${base}.ferry`,
      "input.$": `${base}.input`,
      results: Object.fromEntries(
        [...results]
          .sort((a, b) => a - b)
          .map((x) => [`${this.ir.steps[x]!.name}.$`, keyPath(`${base}.results`, this.ir.steps[x]!.name)]),
      ),
      remote: {},
    };
  }

  /**
   * A leaf's states. They depend only on the leaf, the state after it, whether
   * it runs in a child machine (for the few that read it) and the names the namer gives, so an earlier
   * pass's are reused when those match: the output is the same byte for byte,
   * for about half the work of the second pass. The states are shared, never
   * changed after they are made.
   */
  private leaf(
    block: Block,
    next: string | undefined,
    make: (inChildMachine: () => boolean) => LeafOut,
  ): LeafOut {
    const inChild = this.childDepth > 0;
    const earlier = this.reuse?.get(block);
    if (
      earlier &&
      earlier.next === next &&
      (earlier.inChildMachine === undefined || earlier.inChildMachine === inChild) &&
      this.namer.claim(earlier.names)
    )
      return earlier.out;
    let read = false;
    const inChildMachine = () => {
      read = true;
      return inChild;
    };
    if (!this.measure) return make(inChildMachine);
    this.namer.record();
    const out = make(inChildMachine);
    const names = this.namer.recorded();
    if (names) this.leaves.set(block, { next, inChildMachine: read ? inChild : undefined, names, out });
    return out;
  }

  /** Adds a leaf block's states to its scope and records what they cost. */
  private add(
    scope: Scope,
    out: { states: Record<string, AslState>; index: StateIndex },
    block?: Block,
  ): void {
    Object.assign(scope, out.states);
    Object.assign(this.index, out.index);
    if (block && this.measure)
      this.costs.set(block, { bytes: JSON.stringify(out.states).length, events: eventsOf(block) });
  }

  private collectAwaits(block: Block): void {
    if (block.kind === "await") {
      const set = this.awaited.get(block.node) ?? new Set();
      set.add(block.dep);
      this.awaited.set(block.node, set);
    } else if (block.kind === "seq") for (const b of block.items) this.collectAwaits(b);
    else if (block.kind === "par") for (const b of block.branches) this.collectAwaits(b);
    else if (block.kind === "child") this.collectAwaits(block.block);
  }

  private nodeOf(step: string): number {
    return this.nodeIndex.get(step)!;
  }
}

/** History events a block adds to an execution (entered/scheduled/started/submitted/succeeded/exited per Task). */
function eventsOf(block: Block): number {
  switch (block.kind) {
    case "step":
      return STEP_EVENTS;
    case "await":
      return 7;
    case "signal":
      return 14;
    case "child":
      // One Task, like a step's.
      return STEP_EVENTS;
    default:
      return 0;
  }
}

function addCost(into: BlockCost, c: BlockCost): void {
  into.bytes += c.bytes;
  into.events += c.events;
}

/**
 * What each Parallel branch must hand on: a live result leaves through the
 * branch that produced it; results that only pass through leave through branch 0.
 */
function branchLiveOuts(branches: Block[], liveOut: Set<number>): Set<number>[] {
  const defs = branches.map((b) => definedIn(b));
  const definedHere = new Set(defs.flatMap((d) => [...d]));
  return branches.map(
    (_, i) => new Set([...liveOut].filter((x) => (definedHere.has(x) ? defs[i]!.has(x) : i === 0))),
  );
}

function definedIn(block: Block): Set<number> {
  const out = new Set<number>();
  const walk = (b: Block): void => {
    if (b.kind === "step") out.add(b.node);
    else if (b.kind === "seq") b.items.forEach(walk);
    else if (b.kind === "par") b.branches.forEach(walk);
    else if (b.kind === "child") walk(b.block);
  };
  walk(block);
  return out;
}

function firstNode(block: Block): number {
  if (block.kind === "step" || block.kind === "await" || block.kind === "signal") return block.node;
  if (block.kind === "child") return firstNode(block.block);
  return firstNode(block.kind === "seq" ? block.items[0]! : block.branches[0]!);
}

/** Orders a scope's states as they run (depth-first from StartAt), so the JSON reads top to bottom. */
function inExecutionOrder(states: Record<string, AslState>, startAt: string): Record<string, AslState> {
  const ordered: Record<string, AslState> = {};
  const stack = [startAt];
  while (stack.length > 0) {
    const name = stack.pop()!;
    const state = states[name];
    if (!state || name in ordered) continue;
    ordered[name] = state;
    const targets: string[] = [];
    if ("Next" in state && state.Next) targets.push(state.Next);
    if (state.Type === "Choice")
      targets.push(...state.Choices.map((c) => c.Next), ...(state.Default ? [state.Default] : []));
    if ((state.Type === "Task" || state.Type === "Parallel") && state.Catch)
      targets.push(...state.Catch.map((c) => c.Next));
    stack.push(...targets.reverse());
  }
  return ordered;
}
