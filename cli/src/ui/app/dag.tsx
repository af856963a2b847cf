import type { GraphLayout, StepView } from "../run-view.ts";
import { groupStatus } from "./format.ts";

export function Dag(props: {
  graph: GraphLayout;
  steps: Map<string, StepView>;
  selected: string[] | undefined;
  onSelect(members: string[]): void;
}) {
  const { graph, steps } = props;
  const selectedId = props.selected && graph.nodes.find((n) => n.members.includes(props.selected![0]!))?.id;
  return (
    <section class="dag-scroll" aria-label={`DAG of ${graph.stepCount} steps`}>
      <svg
        class="dag"
        width={graph.width}
        height={graph.height}
        viewBox={`0 0 ${graph.width} ${graph.height}`}
      >
        <title>{`DAG of ${graph.stepCount} steps`}</title>
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
        </defs>
        <g class="edges">
          {graph.edges.map((e) => (
            <polyline
              key={`${e.from}>${e.to}`}
              class="edge"
              points={e.points.map((p) => `${p.x},${p.y}`).join(" ")}
              marker-end="url(#arrow)"
            />
          ))}
        </g>
        {graph.nodes.map((n) => {
          const members = n.members.map((m) => steps.get(m)).filter((s): s is StepView => s !== undefined);
          const status = n.kind === "step" ? (members[0]?.status ?? "PENDING") : groupStatus(members);
          const done = members.filter((m) => m.status === "SUCCEEDED").length;
          const label = n.kind === "step" ? n.label : `${n.label} · ${done}/${members.length}`;
          const select = () => props.onSelect(n.members);
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>
            <g
              key={n.id}
              class={`node s-${status}${selectedId === n.id ? " selected" : ""}`}
              data-step={n.kind === "step" ? n.id : undefined}
              data-status={status}
              transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
              role="button"
              tabIndex={0}
              aria-label={`${label}: ${status.toLowerCase()}`}
              onClick={select}
              onKeyDown={(e) => {
                if (e.key === "Enter" || e.key === " ") {
                  e.preventDefault();
                  select();
                }
              }}
            >
              <rect width={n.width} height={n.height} rx="6" />
              <text x={n.width / 2} y={n.height / 2 + 4} text-anchor="middle">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
    </section>
  );
}
