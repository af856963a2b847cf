import type { RunView } from "../run-view.ts";
import { duration } from "./format.ts";

const ROW = 18;
const DENSE_ROW = 4;
const LABEL = 180;
const WIDTH = 900;

/** Measured bars: one row per step that started, in start order, from its first attempt to its end. */
export function Gantt(props: { run: RunView }) {
  const t0 = Date.parse(props.run.startedAt);
  const now = Date.now();
  const rows = props.run.steps
    .filter((s) => s.startedAt)
    .map((s) => ({
      step: s,
      start: Date.parse(s.startedAt!) - t0,
      end: (s.finishedAt ? Date.parse(s.finishedAt) : now) - t0,
    }))
    .sort((a, b) => a.start - b.start);
  if (rows.length === 0) return <p>No step has started yet.</p>;
  const span = Math.max(1, ...rows.map((r) => r.end));
  const dense = rows.length > 200;
  const row = dense ? DENSE_ROW : ROW;
  const scale = (WIDTH - LABEL - 10) / span;
  return (
    <div class="gantt-scroll">
      <svg
        class="gantt"
        width={WIDTH}
        height={rows.length * row + 24}
        role="img"
        aria-label={`Timeline of ${rows.length} steps over ${duration(span)}`}
      >
        {rows.map((r, i) => (
          <g key={r.step.name} class={`bar s-${r.step.status}`}>
            <title>{`${r.step.name}: ${duration(r.end - r.start)} (${r.step.status.toLowerCase()})`}</title>
            {!dense && (
              <text x={LABEL - 6} y={i * row + 13} text-anchor="end">
                {r.step.name.length > 24 ? `${r.step.name.slice(0, 23)}…` : r.step.name}
              </text>
            )}
            <rect
              x={LABEL + r.start * scale}
              y={i * row + 2}
              width={Math.max(2, (r.end - r.start) * scale)}
              height={row - 4}
            />
          </g>
        ))}
        <text x={LABEL} y={rows.length * row + 18}>
          0
        </text>
        <text x={WIDTH - 10} y={rows.length * row + 18} text-anchor="end">
          {duration(span)}
        </text>
      </svg>
    </div>
  );
}
