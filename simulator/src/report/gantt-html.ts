import { formatReport } from "./format-report.ts";
import { escapeXml, ganttSvg } from "./gantt-svg.ts";
import type { SimulationReport } from "./simulation-report.ts";

/** A standalone HTML page: the report as text above the Gantt chart of the median run. */
export function ganttHtml(report: SimulationReport): string {
  const title = `Ferry simulation — ${report.workflow}${report.topology ? ` on ${report.topology}` : ""}`;
  const svg = ganttSvg(report.trace ?? [], {
    title: `Median run (run ${report.medianRun + 1} of ${report.runs})`,
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
  pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }
  .chart { overflow-x: auto; }
</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<pre>${escapeXml(formatReport(report))}</pre>
<div class="chart">
${svg}</div>
</body>
</html>
`;
}
