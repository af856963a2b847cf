import type { ExecutionStatus, StepReport } from "@ferry/infra/cloud";
import { table } from "./cloud-commands.ts";

/** `1.2 s`, `3 min 4 s`, `—`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function oneLine(text: string | undefined, max: number): string {
  if (!text) return "";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The per-step table of one execution (and its children, indented). */
export function formatStatus(status: ExecutionStatus, options: { causeWidth?: number } = {}): string {
  const causeWidth = options.causeWidth ?? 100;
  const { description, report } = status;
  const lines = [
    `execution ${status.executionArn}`,
    `status    ${description.status}${description.startDate ? `  started ${description.startDate.toISOString()}` : ""}${
      description.stopDate && description.startDate
        ? `  took ${formatDuration(description.stopDate.getTime() - description.startDate.getTime())}`
        : ""
    }`,
  ];
  if (report.error) lines.push(`error     ${report.error}: ${oneLine(report.cause, causeWidth * 2)}`);
  lines.push("");
  const hits = status.cacheHits;
  const rows: string[][] = [
    ["STEP", "STATE", "ATTEMPTS", "ITEMS", "DURATION", ...(hits ? ["CACHE"] : []), "ERROR", "CAUSE"],
  ];
  for (const step of report.steps) {
    const row = stepRow(step, causeWidth);
    if (hits) row.splice(5, 0, cacheCell(hits[step.step]));
    rows.push(row);
  }
  lines.push(table(rows));
  if (status.indexSource === "history") {
    lines.push("", "(steps inferred from the history: the state index of this deployment was not found)");
  }
  for (const child of status.children) {
    lines.push(
      "",
      ...formatStatus(child, options)
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  return lines.join("\n");
}

/** `hit (from <execution>)` for a step the cache answered, as `ferry status <run-id>` shows it. */
function cacheCell(hit: { hits: number; origin?: string } | undefined): string {
  if (!hit) return "-";
  const count = hit.hits > 1 ? ` ×${hit.hits}` : "";
  return `hit${count}${hit.origin ? ` (from ${hit.origin.split(":").at(-1)})` : ""}`;
}

function stepRow(step: StepReport, causeWidth: number): string[] {
  return [
    step.step,
    step.state,
    String(step.attempts),
    String(step.items),
    formatDuration(step.durationMs),
    step.error ?? "",
    oneLine(step.cause, causeWidth),
  ];
}
