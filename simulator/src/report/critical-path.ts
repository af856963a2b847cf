import { criticalPath } from "@ferry/dsl-compiler";
import { EXEC_FARGATE, EXEC_HTTP, EXEC_LAMBDA, type ModelStep, type SimModel } from "../engine/sim-model.ts";
import { meanLatency } from "../topology/latency.ts";

/** The longest chain of the DAG with each step's expected time on its placement. */
export interface CriticalPathReport {
  seconds: number;
  steps: string[];
}

/**
 * The critical path with no queueing: each step costs its expected dispatch
 * latency, the slowest of its remote inputs' transfers alone on their link,
 * and its compute time on the fastest device that fits it. No run can beat
 * it; the gap to the makespan is what slots, cold starts and failures cost.
 */
export function estimateCriticalPath(model: SimModel): CriticalPathReport {
  const deps = model.steps.map((s) => s.deps);
  const { length, path } = criticalPath(deps, (i) => expectedStepSeconds(model, model.steps[i]!));
  return { seconds: length, steps: path.map((i) => model.steps[i]!.name) };
}

export function expectedStepSeconds(model: SimModel, step: ModelStep): number {
  const site = model.sites[step.site]!;
  let dispatch: number;
  if (site.dispatchLatency) dispatch = meanLatency(site.dispatchLatency);
  else {
    dispatch = meanLatency(model.stateTransition);
    if (step.executor !== EXEC_HTTP) dispatch += meanLatency(model.sqsReceive) + site.controlLatencySeconds;
  }
  let transfer = 0;
  for (const producer of step.remoteInputs) {
    const from = model.steps[producer]!.site;
    const link = model.links[model.linkIndex[from * model.sites.length + step.site]!];
    const seconds = link
      ? link.latencySeconds + model.steps[producer]!.outputBytes / link.bytesPerSecond
      : Number.POSITIVE_INFINITY;
    transfer = Math.max(transfer, seconds);
  }
  const rounds = Number.isFinite(step.maxConcurrency) ? Math.ceil(step.items / step.maxConcurrency) : 1;
  return dispatch + transfer + (rounds * step.durationSeconds) / bestSpeed(model, step);
}

function bestSpeed(model: SimModel, step: ModelStep): number {
  const site = model.sites[step.site]!;
  if (step.executor === EXEC_LAMBDA) return site.lambda!.speed;
  if (step.executor === EXEC_FARGATE) return site.fargate!.speed;
  if (step.executor === EXEC_HTTP) return 1;
  const fits = site.devices.filter((d) => d.memoryMiB >= step.memoryMiB && d.gpu >= step.gpu);
  return fits.length ? Math.max(...fits.map((d) => d.speed)) : 1;
}
