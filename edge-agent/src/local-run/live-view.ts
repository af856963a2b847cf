import type { StepRecord, StepStatus } from "./run-record.ts";
import type { StepTracker } from "./step-tracker.ts";

const ICON: Record<StepStatus, string> = {
  PENDING: "·",
  RUNNING: "▶",
  RETRYING: "↻",
  SUCCEEDED: "✓",
  FAILED: "✗",
  CANCELLED: "■",
};

export interface ViewOutput {
  write(text: string): void;
  isTTY: boolean;
}

/**
 * Shows a run's progress: on a terminal, a table redrawn in place (each step's
 * status and elapsed time, then a summary line); elsewhere, one line per
 * status change, so logs and CI output stay readable.
 */
export class LiveView {
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly workflow: string,
    private readonly tracker: StepTracker,
    private readonly out: ViewOutput,
  ) {
    tracker.onChange((step) => {
      if (!out.isTTY)
        out.write(
          `${this.elapsed(Date.now())} ${ICON[step.status]} ${step.name} ${step.status.toLowerCase()}${detail(step, tracker.itemsRunning(step.name))}\n`,
        );
    });
  }

  start(): void {
    if (!this.out.isTTY) return;
    this.draw();
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.out.isTTY) this.draw();
  }

  private draw(): void {
    const steps = this.tracker.steps;
    const width = Math.min(40, Math.max(...steps.map((s) => s.name.length), 4));
    const now = Date.now();
    const lines = steps.map((s) => {
      const started = s.startedAt ? Date.parse(s.startedAt) : undefined;
      const ended = s.finishedAt ? Date.parse(s.finishedAt) : now;
      const time = started === undefined ? "" : `${((ended - started) / 1000).toFixed(1)}s`;
      const items = this.tracker.itemsRunning(s.name);
      const note =
        items !== undefined
          ? s.attempts > 0
            ? `  (${s.attempts} items started)`
            : ""
          : s.attempts > 1
            ? `  (${s.attempts} attempts)`
            : "";
      const cached = s.cacheHits ? `  (cached${cacheNote(s)})` : "";
      return `${ICON[s.status]} ${s.name.padEnd(width)}  ${s.site.padEnd(10)} ${s.status.toLowerCase().padEnd(9)} ${time.padStart(7)}${note}${cached}`;
    });
    const count = (status: StepStatus) => steps.filter((s) => s.status === status).length;
    const hits = steps.filter((s) => s.cacheHits).length;
    lines.push(
      `${this.workflow}: ${count("SUCCEEDED")}/${steps.length} succeeded${hits ? ` (${hits} cached)` : ""}, ${count("RUNNING")} running${count("FAILED") ? `, ${count("FAILED")} failed` : ""} — ${((now - this.startedAt) / 1000).toFixed(1)}s`,
    );
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : "";
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    this.drawnLines = lines.length;
  }

  private elapsed(now: number): string {
    return `[${((now - this.startedAt) / 1000).toFixed(2).padStart(7)}s]`;
  }
}

function detail(step: StepRecord, itemsRunning: number | undefined): string {
  if (step.status === "FAILED" || step.status === "RETRYING")
    return ` — ${step.error}: ${firstLine(step.cause ?? "")}`;
  if (step.status === "RUNNING" && itemsRunning !== undefined)
    return ` on ${step.site} (foreach: ${itemsRunning} running, ${step.attempts} started)`;
  if (step.status === "RUNNING")
    return ` on ${step.site}${step.attempts > 1 ? ` (attempt ${step.attempts})` : ""}`;
  if (step.reused) return " (reused from the earlier run)";
  if (step.cacheHits) return ` (cached${cacheNote(step)})`;
  return "";
}

/** `from run X`, or how many items hit for a foreach step. */
export function cacheNote(step: StepRecord): string {
  if (!step.cacheHits) return "";
  const items = step.attempts > 1 ? `, ${step.cacheHits}/${step.attempts} items` : "";
  return `${items}, from ${step.cachedFrom}`;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
