/** What {@link jobFileProducers} needs of a step; spec steps and IR steps both fit. */
export interface JobFileStep {
  name: string;
  depends?: readonly string[];
  inputs?: readonly string[];
  outputs?: readonly string[];
}

/**
 * For each step and each of its declared inputs, the steps that may have
 * written that job file: its ancestors declaring it as an output. Side steps
 * (failure handlers, `finally` steps) have no depends and run after the
 * steps they follow, so every DAG step counts for them. A valid spec has
 * exactly one producer per input (see `checkJobFiles`). Safe on cyclic or
 * dangling depends: those get their own diagnostics.
 *
 * Cost: one walk over the descendants of each step that writes a file some
 * step reads, so a workflow without job files costs one pass over its steps.
 */
export function jobFileProducers(
  dag: readonly JobFileStep[],
  side: readonly JobFileStep[] = [],
): Map<string, Map<string, string[]>> {
  const read = new Set([...dag, ...side].flatMap((s) => s.inputs ?? []));
  const writers = new Map<string, string[]>();
  for (const step of dag) {
    for (const output of step.outputs ?? []) {
      if (read.has(output)) writers.set(output, [...(writers.get(output) ?? []), step.name]);
    }
  }
  const dependents = new Map<string, string[]>();
  if (writers.size > 0) {
    const known = new Set(dag.map((s) => s.name));
    for (const step of dag) {
      for (const dep of step.depends ?? []) {
        if (known.has(dep)) dependents.set(dep, [...(dependents.get(dep) ?? []), step.name]);
      }
    }
  }
  const descendants = new Map<string, Set<string>>();
  const descendantsOf = (writer: string): Set<string> => {
    let found = descendants.get(writer);
    if (found) return found;
    found = new Set();
    const stack = [...(dependents.get(writer) ?? [])];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (found.has(next)) continue;
      found.add(next);
      stack.push(...(dependents.get(next) ?? []));
    }
    found.delete(writer); // a cycle back to itself does not make a step its own producer
    descendants.set(writer, found);
    return found;
  };
  const result = new Map<string, Map<string, string[]>>();
  const add = (step: JobFileStep, upstream: (writer: string) => boolean) => {
    const perInput = new Map<string, string[]>();
    for (const input of step.inputs ?? []) {
      perInput.set(
        input,
        (writers.get(input) ?? []).filter((w) => w !== step.name && upstream(w)),
      );
    }
    result.set(step.name, perInput);
  };
  for (const step of dag) add(step, (writer) => descendantsOf(writer).has(step.name));
  for (const step of side) add(step, () => true);
  return result;
}

/**
 * The steps upstream of `step` (through depends, transitively) that declare
 * an output `matches` accepts: who wrote the job files a `foreach` over
 * files or records reads. Safe on cyclic or dangling depends.
 */
export function upstreamWriters(
  dag: readonly JobFileStep[],
  step: string,
  matches: (output: string) => boolean,
): string[] {
  const byName = new Map(dag.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const stack = [...(byName.get(step)?.depends ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next) || next === step) continue;
    seen.add(next);
    stack.push(...(byName.get(next)?.depends ?? []));
  }
  return dag.filter((s) => seen.has(s.name) && (s.outputs ?? []).some(matches)).map((s) => s.name);
}

/** The job files a `foreach` over `files: <prefix>` or `records: <file>` reads. */
export function foreachReads(foreach: { files?: string; records?: string }): (output: string) => boolean {
  if (foreach.files !== undefined) {
    const prefix = foreach.files;
    return (output) => output.startsWith(prefix);
  }
  const file = foreach.records;
  return (output) => output === file;
}
