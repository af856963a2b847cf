import type { OptimizationResult, PlacementScore } from "../optimize/optimize-placement.ts";
import { table } from "./format-report.ts";
import { formatPercent, formatSeconds, formatUsd } from "./format-units.ts";

/** How many moves to list before summarising the rest. */
const MOVES_SHOWN = 40;

/** The placement search's result as text: the two placements side by side and the moves that get from one to the other. */
export function formatOptimization(result: OptimizationResult): string {
  const lines: string[] = [];
  lines.push(
    `Placement search for lowest ${result.objective}: ${result.evaluations} placements simulated, ${result.movableSteps} movable steps, ${result.pinnedSteps} fixed`,
  );
  lines.push("");
  const row = (label: string, s: PlacementScore) => [
    label,
    formatSeconds(s.makespanSeconds),
    formatUsd(s.costUsd),
    formatPercent(s.successRate),
  ];
  lines.push(
    ...table(
      ["placement", "makespan p50", "cost/run", "succeeded"],
      [row("current", result.current), row("best", result.best)],
    ),
  );
  lines.push("");
  if (result.moves.length === 0) {
    lines.push("The current placement is the best found.");
  } else {
    lines.push(
      `Best placement improves ${result.objective} by ${formatPercent(result.improvement)} with ${result.moves.length} move${result.moves.length === 1 ? "" : "s"}:`,
    );
    lines.push(
      ...table(
        ["step", "from", "to"],
        result.moves.slice(0, MOVES_SHOWN).map((m) => [m.step, m.from, m.to]),
      ).map((l) => `  ${l}`),
    );
    if (result.moves.length > MOVES_SHOWN)
      lines.push(`  … and ${result.moves.length - MOVES_SHOWN} more (see --json)`);
    lines.push("Apply it by setting each step's site: in the spec.");
  }
  return `${lines.join("\n")}\n`;
}
