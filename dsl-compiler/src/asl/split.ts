import type { Block } from "./structure.ts";

/**
 * Step Functions limits one state machine to a 1 MB definition and one
 * execution to 25,000 history events. Larger workflows are split: parts of
 * the block tree move into child state machines that the parent runs with
 * `states:startExecution.sync:2`. Joins keep working across machines because
 * they are keyed by the root execution.
 */
export interface MachineLimits {
  /** Definition bytes per machine, below the 1 MB limit to leave room for substituted ARNs and URLs. */
  maxBytes: number;
  /** Estimated history events per execution, well below 25,000 to leave room for retries and Map items. */
  maxEvents: number;
}

export const DEFAULT_LIMITS: MachineLimits = { maxBytes: 700_000, maxEvents: 6_000 };

/** History events one step's Task records (entered, scheduled, started, submitted, succeeded, exited). */
export const STEP_EVENTS = 6;

/**
 * The lowest split limit: two steps' events. Below it every child would
 * hold a single step, and the parent's Task that runs it would cost as much
 * as the step itself.
 */
export const MIN_SPLIT_LIMIT = 2 * STEP_EVENTS;

/**
 * Why `limit` cannot be a split limit (estimated history events per
 * machine), or undefined when it can. It only lowers the default: above it a
 * machine's executions could near Step Functions' 25,000 events with retries
 * and inline Map iterations.
 */
export function splitLimitProblem(limit: number): string | undefined {
  if (!Number.isInteger(limit)) return `must be a whole number of history events, got ${limit}`;
  if (limit < MIN_SPLIT_LIMIT)
    return `must be at least ${MIN_SPLIT_LIMIT} (two steps of ${STEP_EVENTS} events each), got ${limit}`;
  if (limit > DEFAULT_LIMITS.maxEvents)
    return `must be at most ${DEFAULT_LIMITS.maxEvents} (the default; it only lowers the threshold), got ${limit}`;
  return undefined;
}

/** The machine limits under a split limit (checked with `splitLimitProblem` first); the defaults without one. */
export function limitsFor(splitLimit: number | undefined): MachineLimits {
  return splitLimit === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, maxEvents: splitLimit };
}

export interface BlockCost {
  bytes: number;
  events: number;
}

/**
 * Replaces parts of `root` with `child` blocks until every machine fits.
 * `cost` gives each block's emitted size; a child block costs its parent
 * about one Task state.
 */
export function splitIntoMachines(
  root: Block,
  cost: (b: Block) => BlockCost,
  limits: MachineLimits = DEFAULT_LIMITS,
): Block {
  let children = 0;
  const fits = (c: BlockCost) => c.bytes <= limits.maxBytes && c.events <= limits.maxEvents;
  const child = (block: Block): Block => ({ kind: "child", id: `child-${++children}`, block });

  const plan = (block: Block): Block => {
    if (block.kind === "seq") return { kind: "seq", items: packSequence(units(block.items)) };
    if (block.kind === "par") return { kind: "par", branches: packBranches(block.branches) };
    return block;
  };

  // Consecutive items packed greedily into children that fit; an item too big on its own is split further.
  const packSequence = (groups: Block[][]): Block[] => {
    const out: Block[] = [];
    let pending: Block[] = [];
    let used: BlockCost = { bytes: 0, events: 0 };
    const flush = () => {
      if (pending.length > 0) out.push(child({ kind: "seq", items: pending }));
      pending = [];
      used = { bytes: 0, events: 0 };
    };
    for (const group of groups) {
      const c = sum(group.map(cost));
      if (!fits(c)) {
        flush();
        out.push(...group.map(plan));
        continue;
      }
      if (!fits(sum([used, c]))) flush();
      pending.push(...group);
      used = sum([used, c]);
    }
    flush();
    return out;
  };

  const packBranches = (branches: Block[]): Block[] => {
    const out: Block[] = [];
    let pending: Block[] = [];
    let used: BlockCost = { bytes: 0, events: 0 };
    const flush = () => {
      if (pending.length === 1) out.push(child(pending[0]!));
      else if (pending.length > 1) out.push(child({ kind: "par", branches: pending }));
      pending = [];
      used = { bytes: 0, events: 0 };
    };
    for (const branch of branches) {
      const c = cost(branch);
      if (!fits(c)) {
        out.push(plan(branch));
        continue;
      }
      if (!fits(sum([used, c]))) flush();
      pending.push(branch);
      used = sum([used, c]);
    }
    flush();
    return out;
  };

  return fits(cost(root)) ? root : plan(root);
}

/** Awaits, their step and its signal stay together: they share the branch's `remote` values. */
function units(items: Block[]): Block[][] {
  const out: Block[][] = [];
  let current: Block[] = [];
  for (const item of items) {
    current.push(item);
    if (item.kind !== "await") {
      if (item.kind === "signal" && out.length > 0 && current.length === 1) out.at(-1)!.push(item);
      else out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

function sum(costs: BlockCost[]): BlockCost {
  return costs.reduce((a, c) => ({ bytes: a.bytes + c.bytes, events: a.events + c.events }), {
    bytes: 0,
    events: 0,
  });
}
