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
 */
export function jobFileProducers(
  dag: readonly JobFileStep[],
  side: readonly JobFileStep[] = [],
): Map<string, Map<string, string[]>> {
  const byName = new Map(dag.map((s) => [s.name, s]));
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (name: string, visiting = new Set<string>()): Set<string> => {
    const known = ancestors.get(name);
    if (known) return known;
    const found = new Set<string>();
    visiting.add(name);
    for (const dep of byName.get(name)?.depends ?? []) {
      if (!byName.has(dep) || visiting.has(dep)) continue;
      found.add(dep);
      for (const a of ancestorsOf(dep, visiting)) found.add(a);
    }
    visiting.delete(name);
    ancestors.set(name, found);
    return found;
  };
  const everyDagStep = new Set(byName.keys());
  const result = new Map<string, Map<string, string[]>>();
  const add = (step: JobFileStep, candidates: Set<string>) => {
    const perInput = new Map<string, string[]>();
    for (const input of step.inputs ?? []) {
      perInput.set(
        input,
        [...candidates].filter((c) => c !== step.name && (byName.get(c)?.outputs ?? []).includes(input)),
      );
    }
    result.set(step.name, perInput);
  };
  for (const step of dag) add(step, ancestorsOf(step.name));
  for (const step of side) add(step, everyDagStep);
  return result;
}
