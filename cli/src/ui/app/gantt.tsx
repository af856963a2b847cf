import type { Prediction, RunView } from "../run-view.ts";
import { duration } from "./format.ts";

const ROW = 22;
const DENSE_ROW = 5;
const LABEL = 180;
const WIDTH = 900;

/**
 * Measured bars (filled): one row per step that started, in start order,
 * from its first attempt to its end. With a prediction, each row also gets
 * the simulator's predicted span (outlined, under the measured bar), and
 * steps that have not started yet get their predicted row.
 */
export function Gantt(props: { run: RunView; prediction?: Prediction | undefined }) {
  const { prediction } = props;
  const t0 = Date.parse(props.run.startedAt);
  const now = Date.now();
  const rows = props.run.steps
    .filter((s) => s.startedAt || prediction?.steps[s.name])
    .map((s) => ({
      step: s,
      measured: s.startedAt
        ? { start: Date.parse(s.startedAt) - t0, end: (s.finishedAt ? Date.parse(s.finishedAt) : now) - t0 }
        : undefined,
      predicted: prediction?.steps[s.name],
    }))
    .sort(
      (a, b) =>
        (a.measured?.start ?? a.predicted!.startMs) - (b.measured?.start ?? b.predicted!.startMs) ||
        a.step.name.localeCompare(b.step.name),
    );
  if (rows.length === 0) return <p>No step has started yet.</p>;
  const span = Math.max(1, ...rows.map((r) => Math.max(r.measured?.end ?? 0, r.predicted?.endMs ?? 0)));
  const dense = rows.length > 200;
  const row = dense ? DENSE_ROW : ROW;
  const scale = (WIDTH - LABEL - 10) / span;
  const measuredMs = props.run.durationMs;
  return (
    <figure class="gantt-figure">
      <figcaption>
        Measured (filled)
        {measuredMs !== undefined ? `: ${duration(measuredMs)}` : ""}
        {prediction
          ? ` · predicted by the simulator on ${prediction.topology} (outlined): median ${duration(Math.round(prediction.makespanMs))}`
          : ""}
      </figcaption>
      <div class="gantt-scroll">
        <svg
          class="gantt"
          width={WIDTH}
          height={rows.length * row + 24}
          role="img"
          aria-label={`Timeline of ${rows.length} steps over ${duration(Math.round(span))}`}
        >
          {rows.map((r, i) => (
            <g key={r.step.name} class={`bar s-${r.step.status}`}>
              <title>
                {`${r.step.name}: ${r.measured ? duration(r.measured.end - r.measured.start) : "not started"} (${r.step.status.toLowerCase()})${r.predicted ? `, predicted ${duration(Math.round(r.predicted.endMs - r.predicted.startMs))}` : ""}`}
              </title>
              {!dense && (
                <text x={LABEL - 6} y={i * row + 14} text-anchor="end">
                  {r.step.name.length > 24 ? `${r.step.name.slice(0, 23)}…` : r.step.name}
                </text>
              )}
              {r.measured && (
                <rect
                  x={LABEL + r.measured.start * scale}
                  y={i * row + 2}
                  width={Math.max(2, (r.measured.end - r.measured.start) * scale)}
                  height={dense ? row - 1 : row / 2}
                />
              )}
              {r.predicted && (
                <rect
                  class="predicted"
                  x={LABEL + r.predicted.startMs * scale}
                  y={dense ? i * row : i * row + row / 2 + 2}
                  width={Math.max(2, (r.predicted.endMs - r.predicted.startMs) * scale)}
                  height={dense ? row - 1 : row / 2 - 4}
                />
              )}
            </g>
          ))}
          <text x={LABEL} y={rows.length * row + 18}>
            0
          </text>
          <text x={WIDTH - 10} y={rows.length * row + 18} text-anchor="end">
            {duration(Math.round(span))}
          </text>
        </svg>
      </div>
    </figure>
  );
}
