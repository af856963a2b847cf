import { type CheckRule, error } from "./rule.ts";

/** Reports one cycle per strongly connected group, printed as `a → b → a`. */
export const checkCycles: CheckRule = (spec) => {
  const index = new Map(spec.steps.map((s, i) => [s.name, i]));
  const deps = spec.steps.map((s) =>
    s.depends.map((d) => index.get(d)).filter((d): d is number => d !== undefined && d !== index.get(s.name)),
  );
  const state = new Uint8Array(spec.steps.length); // 0 new, 1 on stack, 2 done
  const reported = new Set<number>();
  const out = [];
  // Iterative DFS: specs may hold 10,000-step chains, deeper than the JS stack.
  for (let root = 0; root < deps.length; root++) {
    if (state[root] !== 0) continue;
    const stack: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const dep = deps[top.node]![top.next++];
      if (dep === undefined) {
        state[top.node] = 2;
        stack.pop();
      } else if (state[dep] === 0) {
        state[dep] = 1;
        stack.push({ node: dep, next: 0 });
      } else if (state[dep] === 1 && !reported.has(dep)) {
        const from = stack.findIndex((f) => f.node === dep);
        const cycle = stack.slice(from).map((f) => f.node);
        for (const n of cycle) reported.add(n);
        // `depends` points backwards, so walk it reversed to print in execution order.
        const names = [...cycle, dep].reverse().map((n) => spec.steps[n]!.name);
        const at = top.node;
        out.push(
          error(
            "CYCLE",
            ["steps", at, "depends", spec.steps[at]!.depends.indexOf(spec.steps[dep]!.name)],
            `dependency cycle: ${names.join(" → ")}`,
            "remove one of these dependencies",
          ),
        );
      }
    }
  }
  return out;
};
