import {
  checkPlacement,
  checkSites,
  executorFor,
  type WorkflowIr,
  type WorkflowSpec,
} from "@ferry/dsl-compiler";
import type { StepCost } from "../model/step-costs.ts";
import { LAMBDA_MAX_TIMEOUT_SECONDS } from "../topology/service-defaults.ts";
import type { Topology } from "../topology/topology.ts";

/** Where one step may go, and why it may not move when it may not. */
export interface StepFreedom {
  step: string;
  /** The spec's site. */
  current: string;
  /** Sites the step may be placed on, `current` first. */
  allowed: string[];
  pinnedBy?: "hints.pinned" | "hints.keepOnSite" | "http";
}

/**
 * The sites each step may be placed on: sites both the spec and the topology
 * declare, where the compiler's own placement rules pass (required labels,
 * what Fargate cannot run), where a device fits the step, and where Lambda's
 * time limit does not kill it. Steps with `hints.pinned: true` or
 * `hints.keepOnSite` stay; HTTP steps run in Step Functions wherever placed.
 */
export function stepFreedoms(
  spec: WorkflowSpec,
  ir: WorkflowIr,
  topology: Topology,
  costs: readonly StepCost[],
): StepFreedom[] {
  const candidates = Object.keys(spec.sites).filter((s) => topology.sites[s] !== undefined);
  return ir.steps.map((step, i) => {
    const base = { step: step.name, current: step.site };
    if (step.hints.pinned === true)
      return { ...base, allowed: [step.site], pinnedBy: "hints.pinned" as const };
    if (step.hints.keepOnSite !== undefined && step.hints.keepOnSite !== false)
      return { ...base, allowed: [step.site], pinnedBy: "hints.keepOnSite" as const };
    if (step.runtime.kind === "http") return { ...base, allowed: [step.site], pinnedBy: "http" as const };
    const specStep = spec.steps[step.specIndex]!;
    const allowed = candidates.filter((site) => {
      if (site === step.site) return true;
      const moved = { ...spec, steps: [{ ...specStep, site, depends: [] }] };
      if (checkSites(moved).length > 0 || checkPlacement(moved).length > 0) return false;
      const target = topology.sites[site]!;
      if (target.type === "edge")
        return target.devices.some(
          (d) => d.memoryMiB >= step.resources.memoryMiB && d.gpu >= step.resources.gpu,
        );
      if (executorFor("aws", step.runtime.kind) === "lambda")
        return costs[i]!.durationSeconds / target.lambda.speed <= LAMBDA_MAX_TIMEOUT_SECONDS;
      return true;
    });
    return { ...base, allowed: [step.site, ...allowed.filter((s) => s !== step.site)] };
  });
}
