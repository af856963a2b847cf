import { buildSimModel, type Placement, type SimModel } from "../engine/sim-model.ts";
import { SimulatorError } from "../errors.ts";
import { type PreparedSimulation, prepareSimulation } from "../prepare.ts";

/** A topology with no orchestration latency, for exact analytic tests. */
export const INSTANT_ORCHESTRATION =
  "orchestration:\n  stateTransition: { ms: 0 }\n  sqsReceive: { ms: 0 }\n";

/** Prepares spec and topology text for a test; any error diagnostic fails loudly. */
export function prepareForTest(
  specText: string,
  topologyText: string,
  placement?: Placement,
): PreparedSimulation {
  const { prepared, diagnostics } = prepareSimulation({
    specText,
    topologyText,
    ...(placement ? { placement } : {}),
  });
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (!prepared || errors.length > 0) {
    throw new SimulatorError(
      "INVALID_INPUT",
      `test input has errors:\n${errors.map((d) => `${d.source}:${d.line}:${d.col} ${d.code} ${d.message}`).join("\n")}`,
    );
  }
  return prepared;
}

export function modelForTest(specText: string, topologyText: string, placement?: Placement): SimModel {
  const p = prepareForTest(specText, topologyText, placement);
  return buildSimModel(p.ir, p.topology, p.costs, placement);
}

export interface TestStep {
  name: string;
  depends?: string[];
  site?: string;
  durationSeconds?: number;
  outputBytes?: number;
  extra?: string;
}

/** A spec YAML of container steps with duration and output hints. */
export function specYaml(
  steps: TestStep[],
  sites = "  edge: { type: edge }\n  cloud: { type: aws, region: us-east-1 }\n",
): string {
  const body = steps
    .map((s) => {
      const hints = [
        s.durationSeconds !== undefined ? `durationSeconds: ${s.durationSeconds}` : "",
        s.outputBytes !== undefined ? `outputBytes: ${s.outputBytes}` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return [
        `  - name: ${s.name}`,
        `    site: ${s.site ?? "edge"}`,
        `    depends: [${(s.depends ?? []).join(", ")}]`,
        // Containers with a command run on either kind of site (a process step has no image for Fargate).
        `    container: { image: "busybox:1", command: ["true"] }`,
        hints ? `    hints: { ${hints} }` : "",
        s.extra ?? "",
      ]
        .filter(Boolean)
        .join("\n");
    })
    .join("\n");
  return `name: test\nsites:\n${sites}steps:\n${body}\n`;
}

/** A topology with one edge site of `devices` identical devices and, optionally, a cloud site and a link. */
export function topologyYaml(
  options: {
    devices?: number;
    slots?: number;
    speed?: number;
    cloud?: boolean;
    link?: string;
    extra?: string;
  } = {},
): string {
  const cloud = options.cloud
    ? "  cloud:\n    type: aws\n    fargate: { start: { ms: 0 } }\n    lambda: { coldStart: { ms: 0 } }\n"
    : "";
  const links = options.link ? `links:\n  - ${options.link}\n` : "";
  return `sites:\n  edge:\n    type: edge\n    devices:\n      - { name: pi, count: ${options.devices ?? 1}, slots: ${options.slots ?? 1}, speed: ${options.speed ?? 1} }\n${cloud}${links}${INSTANT_ORCHESTRATION}${options.extra ?? ""}`;
}
