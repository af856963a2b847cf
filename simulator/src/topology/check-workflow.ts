import { executorFor, type WorkflowIr } from "@ferry/dsl-compiler";
import { type SimDiagnostic, simError, simWarning } from "../diagnostics.ts";
import type { Placement } from "../engine/sim-model.ts";
import type { StepCost } from "../model/step-costs.ts";
import { LAMBDA_MAX_TIMEOUT_SECONDS } from "./service-defaults.ts";
import type { Topology } from "./topology.ts";

/**
 * What keeps a workflow from running on a topology, found before simulating:
 * sites the topology lacks or types it contradicts, steps no device can hold,
 * dead or missing links on the data's way between sites and on the agents'
 * way to the cloud's queues, Lambda steps longer than Lambda allows.
 */
export function checkWorkflowOnTopology(
  ir: WorkflowIr,
  topology: Topology,
  costs: readonly StepCost[],
  placement: Placement = {},
): SimDiagnostic[] {
  const out: SimDiagnostic[] = [];
  const siteOf = (i: number) => placement[ir.steps[i]!.name] ?? ir.steps[i]!.site;
  const used = new Set(ir.steps.map((_, i) => siteOf(i)));
  for (const name of used) {
    const site = topology.sites[name];
    const declared = ir.sites[name];
    if (!site) {
      out.push(
        simError(
          "spec",
          "MISSING_TOPOLOGY_SITE",
          ["sites", name],
          `the topology does not describe site "${name}"`,
          `add sites.${name} to the topology`,
        ),
      );
    } else if (declared && declared.type !== site.type) {
      out.push(
        simError(
          "topology",
          "SITE_TYPE_MISMATCH",
          ["sites", name, "type"],
          `site "${name}" is ${declared.type} in the spec but ${site.type} in the topology`,
          `make it type: ${declared.type}`,
        ),
      );
    }
  }
  if (out.length > 0) return out;

  const index = new Map(ir.steps.map((s, i) => [s.name, i]));
  const links = new Map(topology.links.map((l) => [`${l.from}\u0000${l.to}`, l]));
  const reported = new Set<string>();
  ir.steps.forEach((step, i) => {
    const siteName = siteOf(i);
    const site = topology.sites[siteName]!;
    const path = ["steps", step.specIndex];
    if (
      site.type === "edge" &&
      !site.devices.some((d) => d.memoryMiB >= step.resources.memoryMiB && d.gpu >= step.resources.gpu)
    ) {
      out.push(
        simError(
          "spec",
          "STEP_DOES_NOT_FIT",
          [...path, "resources"],
          `step "${step.name}" needs ${step.resources.memoryMiB} MiB and ${step.resources.gpu} GPU(s); no device of site "${siteName}" has that much`,
          "lower resources, or add a larger device to the topology",
        ),
      );
    }
    if (site.type === "aws" && executorFor("aws", step.runtime.kind) === "lambda") {
      const seconds = costs[i]!.durationSeconds / site.lambda.speed;
      if (seconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
        out.push(
          simWarning(
            "spec",
            "LAMBDA_TIMEOUT",
            path,
            `step "${step.name}" computes ${seconds.toFixed(0)} s on Lambda, longer than Lambda's ${LAMBDA_MAX_TIMEOUT_SECONDS} s limit; every attempt will time out`,
            "run it as a container step, or split it",
          ),
        );
      }
    }
    // An HTTP task gets its input from Step Functions' payload, never from job files.
    if (site.type === "aws" && executorFor("aws", step.runtime.kind) === "http-task") return;
    step.depends.forEach((dep, j) => {
      const from = siteOf(index.get(dep)!);
      if (from === siteName || costs[index.get(dep)!]!.outputBytes <= 0) return;
      const key = `${from}\u0000${siteName}`;
      if (reported.has(key)) return;
      const link = links.get(key);
      if (link && link.bandwidthMbps > 0) return;
      reported.add(key);
      out.push(
        link
          ? simError(
              "topology",
              "DEAD_LINK",
              ["links", link.specIndex, "bandwidthMbps"],
              `link ${from} → ${siteName} is down (0 Mbps), but step "${step.name}" reads the output of "${dep}" across it`,
              "give the link bandwidth, or place both steps on one site",
            )
          : simError(
              "spec",
              "DEAD_LINK",
              [...path, "depends", j],
              `no link from site "${from}" to site "${siteName}", but step "${step.name}" reads the output of "${dep}" across it`,
              `add a link { from: ${from}, to: ${siteName} } to the topology, or place both steps on one site`,
            ),
      );
    });
  });
  // Agents long-poll the cloud's queues and answer Step Functions: they need both directions.
  const clouds = Object.values(topology.sites).filter((s) => s.type === "aws");
  const live = (from: string, to: string) => (links.get(`${from}\u0000${to}`)?.bandwidthMbps ?? 0) > 0;
  for (const name of used) {
    const site = topology.sites[name]!;
    if (site.type !== "edge" || clouds.length === 0) continue;
    if (clouds.some((c) => live(c.name, name) && live(name, c.name))) continue;
    const down = clouds
      .flatMap((c) => [links.get(`${c.name}\u0000${name}`), links.get(`${name}\u0000${c.name}`)])
      .find((l) => l !== undefined && l.bandwidthMbps <= 0);
    out.push(
      down
        ? simError(
            "topology",
            "DEAD_LINK",
            ["links", down.specIndex, "bandwidthMbps"],
            `agents on site "${name}" cannot reach the cloud's queues: link ${down.from} → ${down.to} is down (0 Mbps)`,
            "give the link bandwidth",
          )
        : simError(
            "topology",
            "DEAD_LINK",
            ["sites", name],
            `agents on site "${name}" cannot reach the cloud's queues: no link both ways between "${name}" and ${clouds.map((c) => `"${c.name}"`).join(" or ")}`,
            `add a link { from: ${name}, to: ${clouds[0]!.name} } (bidirectional) to the topology`,
          ),
    );
  }
  return out;
}
