import type { Latency } from "../topology/latency.ts";
import type { Prng } from "./prng.ts";
import { EXEC_HTTP, type ModelStep, type SimModel } from "./sim-model.ts";

/** Draws one latency in seconds; constants draw nothing, so deterministic models stay deterministic. */
export function sampleLatency(latency: Latency, rng: Prng): number {
  switch (latency.kind) {
    case "constant":
      return latency.seconds;
    case "uniform":
      return rng.uniform(latency.minSeconds, latency.maxSeconds);
    case "lognormal":
      return latency.medianSeconds * Math.exp(latency.sigma * rng.normal());
  }
}

/**
 * From a step becoming ready to its message reaching a worker: one Step
 * Functions transition, then (all but HTTP tasks) the SQS receive and the
 * way down to the site's agents; or the site's own `dispatchLatency`.
 */
export function sampleDispatchLatency(model: SimModel, step: ModelStep, rng: Prng): number {
  const site = model.sites[step.site]!;
  if (site.dispatchLatency) return sampleLatency(site.dispatchLatency, rng);
  const transition = sampleLatency(model.stateTransition, rng);
  if (step.executor === EXEC_HTTP) return transition;
  return transition + sampleLatency(model.sqsReceive, rng) + site.controlLatencySeconds;
}
