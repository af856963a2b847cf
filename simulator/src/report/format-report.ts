import { formatBytes, formatPercent, formatSeconds, formatUsd } from "./format-units.ts";
import type { SimulationReport } from "./simulation-report.ts";

/** How many critical-path steps to name before eliding the middle. */
const PATH_SHOWN = 8;

/** The human-readable report `ferry simulate` prints. */
export function formatReport(report: SimulationReport): string {
  const lines: string[] = [];
  const on = report.topology ? ` on ${report.topology}` : "";
  lines.push(
    `Simulated ${report.workflow}${on}: ${report.runs} run${report.runs === 1 ? "" : "s"}, seed ${report.seed}`,
  );
  lines.push("");
  const m = report.makespanSeconds;
  lines.push(
    m
      ? `makespan       p50 ${formatSeconds(m.p50)}   p95 ${formatSeconds(m.p95)}   (mean ${formatSeconds(m.mean)}, min ${formatSeconds(m.min)}, max ${formatSeconds(m.max)})`
      : "makespan       no run succeeded",
  );
  const o = report.outcomes;
  lines.push(`outcome        ${o.succeeded} succeeded, ${o.failed} failed, ${o.blocked} blocked`);
  for (const f of report.failures.slice(0, 5)) {
    const why =
      f.reason === "timed-out"
        ? "timed out (its timeout counts time waiting in the queue)"
        : "lost its device";
    lines.push(
      `               step "${f.step}" ${why} and ran out of retries in ${f.runs} run${f.runs === 1 ? "" : "s"}`,
    );
  }
  if (report.failures.length > 5)
    lines.push(`               … and ${report.failures.length - 5} more failing steps (see --json)`);
  if (report.blocked) {
    const b = report.blocked;
    for (const link of b.deadLinks)
      lines.push(`               BLOCKED: no usable link ${link.from} → ${link.to} (${b.runs} runs)`);
    for (const site of b.unreachableSites)
      lines.push(`               BLOCKED: agents on "${site}" cannot reach the cloud's queues`);
    if (b.waitingSteps.length)
      lines.push(
        `               waiting: ${b.waitingSteps.slice(0, 5).join(", ")}${b.waitingSteps.length > 5 ? `, … (${b.waitingSteps.length})` : ""}`,
      );
  }
  const cp = report.criticalPath;
  const path =
    cp.steps.length > PATH_SHOWN
      ? [...cp.steps.slice(0, PATH_SHOWN / 2), "…", ...cp.steps.slice(-PATH_SHOWN / 2)]
      : cp.steps;
  lines.push(
    `critical path  ${formatSeconds(cp.seconds)} without queueing, ${cp.steps.length} steps: ${path.join(" → ")}`,
  );
  if (report.retries > 0 || report.lambdaColdStarts > 0 || report.fargateLaunches > 0) {
    lines.push(
      `per run        ${report.retries.toFixed(1)} retries, ${report.lambdaColdStarts.toFixed(1)} Lambda cold starts, ${report.fargateLaunches.toFixed(1)} Fargate launches`,
    );
  }
  lines.push("");
  lines.push(
    ...table(
      ["site", "type", "slots", "busy", "utilisation", "peak"],
      report.sites.map((s) => [
        s.name,
        s.type,
        s.slots === null ? "-" : String(s.slots),
        formatSeconds(s.busySeconds),
        s.utilisation === null ? "-" : formatPercent(s.utilisation),
        String(s.peakConcurrency),
      ]),
    ),
  );
  lines.push("");
  if (report.transfers.length === 0) lines.push("no data crosses a site boundary");
  else {
    lines.push(
      ...table(
        ["link", "bytes/run", "cost/run"],
        report.transfers.map((t) => [`${t.from} → ${t.to}`, formatBytes(t.bytes), formatUsd(t.costUsd)]),
      ),
    );
    lines.push("");
    lines.push(
      ...table(
        ["site boundary", "out/run", "in/run"],
        report.boundaries.map((b) => [b.site, formatBytes(b.bytesOut), formatBytes(b.bytesIn)]),
      ),
    );
  }
  lines.push("");
  const c = report.cost;
  const parts = (
    [
      ["Step Functions", c.stepFunctions],
      ["SQS", c.sqs],
      ["Lambda", c.lambda],
      ["Fargate", c.fargate],
      ["transfer", c.transfer],
      ["edge devices", c.edge],
    ] as const
  )
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${formatUsd(v)}`);
  lines.push(
    `cost           ${formatUsd(c.total)} per run (p95 ${formatUsd(c.p95Total)})${parts.length ? `: ${parts.join(", ")}` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
