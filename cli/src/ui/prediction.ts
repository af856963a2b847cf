import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Prediction } from "./run-view.ts";

/**
 * The simulator's predicted timeline of a workflow on a topology: the
 * median of 25 simulated runs (seeded), from the spec's hints alone (not
 * calibrated by the run it is shown beside, so the two can disagree).
 * Throws an Error naming the file and the problem when the spec or the
 * topology does not simulate.
 */
export async function predictTimeline(specPath: string, topologyPath: string): Promise<Prediction> {
  // The simulator loads only when a page asks for a prediction.
  const { buildSimModel, prepareSimulation, simulate } = await import("@ferry/simulator");
  const [specText, topologyText] = await Promise.all([
    readFile(specPath, "utf8"),
    readFile(topologyPath, "utf8"),
  ]);
  const { prepared, diagnostics } = prepareSimulation({ specText, topologyText });
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!prepared || errors.length > 0) {
    const d = errors[0];
    throw new Error(
      `cannot simulate ${basename(specPath)} on ${basename(topologyPath)}: ${d ? `${d.source} ${d.message}` : "unknown problem"}; check it with: ferry simulate ${specPath} --topology ${topologyPath}`,
    );
  }
  const report = simulate(buildSimModel(prepared.ir, prepared.topology, prepared.costs), {
    runs: 25,
    seed: 1,
    trace: true,
    topologyName: prepared.topology.name ?? basename(topologyPath),
  });
  const byStep = new Map<string, { startMs: number; endMs: number }>();
  for (const a of report.trace ?? []) {
    const bar = byStep.get(a.step);
    const start = a.startSeconds * 1000;
    const end = a.endSeconds * 1000;
    byStep.set(
      a.step,
      bar
        ? { startMs: Math.min(bar.startMs, start), endMs: Math.max(bar.endMs, end) }
        : { startMs: start, endMs: end },
    );
  }
  return {
    topology: report.topology ?? basename(topologyPath),
    makespanMs: (report.makespanSeconds?.p50 ?? 0) * 1000,
    steps: Object.fromEntries(byStep),
  };
}
