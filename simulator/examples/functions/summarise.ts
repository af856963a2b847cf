/**
 * Example "summarise" step of pi-cluster.workflow.yaml: totals the objects
 * its dependencies detected.
 *
 * Input `{ input, deps: { detect: { objects: 4 } } }` → output `{ objects: 4 }`.
 */
export const handler = (input: { deps: Record<string, unknown> }): { objects: number } => {
  let objects = 0;
  for (const output of Object.values(input.deps)) {
    const count = (output as { objects?: unknown } | null)?.objects;
    if (typeof count === "number") objects += count;
  }
  return { objects };
};
