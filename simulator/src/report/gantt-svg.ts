import type { AttemptTrace } from "../engine/run-result.ts";
import { formatSeconds } from "./format-units.ts";

export interface GanttOptions {
  title?: string;
  /** @default 1200 */
  widthPx?: number;
}

const ROW_PX = 14;
const ROW_GAP_PX = 2;
const LABEL_PX = 180;
const TOP_PX = 56;
const PALETTE = ["#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7"];
const FAILED = "#e15759";

interface Lane {
  group: string;
  site: string;
  label: string;
  bars: AttemptTrace[];
}

/**
 * A Gantt chart of one run as standalone SVG: one lane per slot a device,
 * Lambda or Fargate worker actually used, grouped by site and resource. The
 * pale head of a bar is start-up (cold start, Fargate launch, input transfer);
 * red bars are failed attempts. Hover a bar for its step and times.
 */
export function ganttSvg(trace: readonly AttemptTrace[], options: GanttOptions = {}): string {
  const width = options.widthPx ?? 1200;
  const lanes = layoutLanes(trace);
  const end = Math.max(1e-9, ...trace.map((t) => t.endSeconds));
  const chartPx = width - LABEL_PX - 20;
  const x = (s: number) => LABEL_PX + (s / end) * chartPx;
  const sites = [...new Set(lanes.map((l) => l.site))];
  const color = (site: string) => PALETTE[sites.indexOf(site) % PALETTE.length]!;
  const height = TOP_PX + lanes.length * (ROW_PX + ROW_GAP_PX) + 40;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(
    `<text x="10" y="18" font-size="14" font-weight="600">${escapeXml(options.title ?? "Ferry simulation")}</text>`,
  );
  const step = tickStep(end);
  for (let t = 0; t <= end + 1e-9; t += step) {
    const px = x(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${TOP_PX - 6}" x2="${px}" y2="${height - 30}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${px}" y="${TOP_PX - 10}" text-anchor="middle" fill="#555">${escapeXml(formatSeconds(t))}</text>`,
    );
  }
  let previousGroup = "";
  lanes.forEach((lane, i) => {
    const y = TOP_PX + i * (ROW_PX + ROW_GAP_PX);
    if (lane.group !== previousGroup) {
      if (i > 0) out.push(`<line x1="0" y1="${y - 1}" x2="${width}" y2="${y - 1}" stroke="#ccc"/>`);
      out.push(`<text x="10" y="${y + ROW_PX - 3}" fill="#222">${escapeXml(lane.label)}</text>`);
      previousGroup = lane.group;
    }
    for (const bar of lane.bars) {
      const fill = bar.outcome === "succeeded" ? color(bar.site) : FAILED;
      const x0 = x(bar.startSeconds);
      const xc = x(bar.computeStartSeconds);
      const x1 = Math.max(x(bar.endSeconds), x0 + 0.5);
      const title = `${bar.step}${bar.items > 1 ? `[${bar.item}]` : ""} · attempt ${bar.attempt} · ${bar.resource} · ${formatSeconds(bar.startSeconds)} → ${formatSeconds(bar.endSeconds)}${bar.computeStartSeconds > bar.startSeconds ? ` (start-up ${formatSeconds(bar.computeStartSeconds - bar.startSeconds)})` : ""} · ${bar.outcome}`;
      out.push(`<g><title>${escapeXml(title)}</title>`);
      if (xc > x0)
        out.push(
          `<rect x="${x0.toFixed(2)}" y="${y}" width="${(xc - x0).toFixed(2)}" height="${ROW_PX}" fill="${fill}" opacity="0.35"/>`,
        );
      if (x1 > xc)
        out.push(
          `<rect x="${xc.toFixed(2)}" y="${y}" width="${(x1 - xc).toFixed(2)}" height="${ROW_PX}" fill="${fill}" stroke="#fff" stroke-width="0.5"/>`,
        );
      // Names go inside bars wide enough to hold them; the tooltip has them all.
      const label = bar.step + (bar.items > 1 ? `[${bar.item}]` : "");
      if (x1 - xc > label.length * 6.2 + 8) {
        out.push(
          `<text x="${(xc + 4).toFixed(2)}" y="${y + ROW_PX - 3}" fill="#fff" font-size="10">${escapeXml(label)}</text>`,
        );
      }
      out.push("</g>");
    }
  });
  const legendY = height - 12;
  let lx = 10;
  for (const site of sites) {
    out.push(
      `<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="${color(site)}"/><text x="${lx + 14}" y="${legendY}">${escapeXml(site)}</text>`,
    );
    lx += 24 + site.length * 7;
  }
  out.push(
    `<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="#888" opacity="0.35"/><text x="${lx + 14}" y="${legendY}">start-up and input transfer</text>`,
  );
  lx += 190;
  out.push(
    `<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="${FAILED}"/><text x="${lx + 14}" y="${legendY}">failed attempt</text>`,
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** Groups attempts by site and resource, then packs each group into the fewest lanes (interval partitioning). */
function layoutLanes(trace: readonly AttemptTrace[]): Lane[] {
  const groups = new Map<string, AttemptTrace[]>();
  for (const t of trace) {
    const key = `${t.site}\u0000${t.resource}`;
    const list = groups.get(key);
    if (list) list.push(t);
    else groups.set(key, [t]);
  }
  const keys = [...groups.keys()].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return keys.flatMap((key) => {
    const bars = [...groups.get(key)!].sort(
      (a, b) => a.startSeconds - b.startSeconds || a.endSeconds - b.endSeconds,
    );
    const laneEnds: number[] = [];
    const laneBars: AttemptTrace[][] = [];
    for (const bar of bars) {
      let lane = laneEnds.findIndex((e) => e <= bar.startSeconds + 1e-9);
      if (lane < 0) {
        lane = laneEnds.length;
        laneEnds.push(0);
        laneBars.push([]);
      }
      laneEnds[lane] = bar.endSeconds;
      laneBars[lane]!.push(bar);
    }
    const [site, resource] = key.split("\u0000") as [string, string];
    return laneBars.map((b) => ({ group: key, site, label: `${site} · ${resource}`, bars: b }));
  });
}

/** A round tick spacing giving 5–12 ticks. */
function tickStep(end: number): number {
  const raw = end / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
