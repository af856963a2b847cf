import { EXEC_AGENT, EXEC_FARGATE, EXEC_LAMBDA, type ModelStep, type SimModel } from "./sim-model.ts";

/** Speed of whatever runs the attempt: the device's, the site's Lambda or Fargate speed, or 1 for HTTP tasks. */
export function speedOf(model: SimModel, step: ModelStep, resource: number): number {
  if (step.executor === EXEC_AGENT) return model.devices[resource]!.speed;
  const site = model.sites[step.site]!;
  if (step.executor === EXEC_LAMBDA) return site.lambda!.speed;
  if (step.executor === EXEC_FARGATE) return site.fargate!.speed;
  return 1;
}

/** Device id on an edge site; `lambda`, `fargate-<n>` or `http` on an aws site. */
export function resourceName(model: SimModel, step: ModelStep, resource: number): string {
  if (step.executor === EXEC_AGENT) return model.devices[resource]!.id;
  if (step.executor === EXEC_LAMBDA) return "lambda";
  if (step.executor === EXEC_FARGATE) return `fargate-${resource + 1}`;
  return "http";
}
