import { describe, expect, it } from "vitest";
import { layoutRunGraph } from "./graph-layout.ts";

describe("layoutRunGraph", () => {
  it("Given a small DAG, Then every step is a node placed by dagre and every edge is drawn", () => {
    const layout = layoutRunGraph([
      { name: "a", depends: [] },
      { name: "b", depends: ["a"] },
      { name: "c", depends: ["a"] },
      { name: "d", depends: ["b", "c"] },
    ]);
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(["a", "b", "c", "d"]);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(["a>b", "a>c", "b>d", "c>d"]);
    const y = Object.fromEntries(layout.nodes.map((n) => [n.id, n.y]));
    expect(y.a!).toBeLessThan(y.b!);
    expect(y.b!).toBeLessThan(y.d!);
    expect(layout.collapsed).toBe(false);
  });

  it("Given a dependency that a longer path implies, Then it is counted but not drawn", () => {
    const layout = layoutRunGraph([
      { name: "a", depends: [] },
      { name: "b", depends: ["a"] },
      { name: "c", depends: ["a", "b"] },
    ]);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(["a>b", "b>c"]);
    expect(layout.impliedEdges).toBe(1);
  });

  it("Given a large workflow of parallel chains, Then each series chain becomes one node listing its steps", () => {
    const steps = [{ name: "start", depends: [] as string[] }];
    for (let c = 0; c < 10; c++)
      for (let i = 0; i < 8; i++)
        steps.push({ name: `c${c}s${i}`, depends: [i === 0 ? "start" : `c${c}s${i - 1}`] });
    steps.push({ name: "end", depends: Array.from({ length: 10 }, (_, c) => `c${c}s7`) });
    const layout = layoutRunGraph(steps, { collapseAbove: 20, groupAbove: 1000 });
    expect(layout.nodes).toHaveLength(12);
    const chain = layout.nodes.find((n) => n.members.includes("c3s4"))!;
    expect(chain.kind).toBe("chain");
    expect(chain.members).toEqual(Array.from({ length: 8 }, (_, i) => `c3s${i}`));
    expect(layout.edges).toHaveLength(20);
  });

  it("Given many parallel steps of one family, Then they fold into one group node, but never across an edge inside it", () => {
    const steps = [{ name: "split", depends: [] as string[] }];
    for (let i = 0; i < 300; i++) steps.push({ name: `project_${i}`, depends: ["split"] });
    for (let i = 0; i < 300; i++)
      steps.push({ name: `diff_${i}`, depends: [`project_${i}`, `project_${(i + 1) % 300}`] });
    steps.push({ name: "concat", depends: Array.from({ length: 300 }, (_, i) => `diff_${i}`) });
    const layout = layoutRunGraph(steps);
    expect(layout.nodes.map((n) => n.label).sort()).toEqual(["concat", "diff ×300", "project ×300", "split"]);
    expect(layout.stepCount).toBe(602);

    const linked = [{ name: "x_1", depends: [] as string[] }];
    for (let i = 2; i < 400; i++) linked.push({ name: `x_${i}`, depends: [`x_${i - 1}`, "x_1"] });
    expect(layoutRunGraph(linked).nodes.some((n) => n.kind === "group")).toBe(false);
  });
});
