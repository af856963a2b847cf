import type { IrStep, WorkflowIr } from "./ir.ts";

/**
 * The sites whose job-file keys a principal running `steps` reads: those
 * steps' own sites, the writers of their inputs, and the sites of the steps
 * whose outputs they receive (a large output is read back from its writer's
 * keys). A failure handler receives the deps of the step it handles.
 */
export function sitesReadBy(ir: Pick<WorkflowIr, "steps">, steps: readonly string[]): string[] {
  const byName = new Map(ir.steps.map((s) => [s.name, s]));
  const handledBy = new Map<string, IrStep[]>();
  for (const s of ir.steps) {
    if (s.onFailure?.kind === "handler")
      handledBy.set(s.onFailure.step, [...(handledBy.get(s.onFailure.step) ?? []), s]);
  }
  const read = new Set<string>();
  for (const name of steps) {
    const step = byName.get(name)!;
    read.add(step.site);
    for (const writer of Object.values(step.inputSites)) read.add(writer);
    for (const s of [step, ...(handledBy.get(name) ?? [])])
      for (const dep of s.depends) read.add(byName.get(dep)!.site);
  }
  return [...read].sort();
}
