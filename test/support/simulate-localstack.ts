/**
 * Workflows and topologies for checking `ferry simulate --calibrate
 * <execution-arn>` against LocalStack: layers of short sleep steps on one
 * edge site, each step joining two of the layer before, and a topology of
 * the agents that serve the site.
 */
import { ferry } from "./ferry-cli.ts";
import { ferryEnv } from "./localstack-ferry.ts";

/**
 * `layers` × `width` process steps of `sleep <seconds>`; a step of layer i
 * depends on steps j and j+1 (mod width) of layer i−1. No heartbeat (see
 * chainSpec in localstack-load.ts) and a generous timeout.
 */
export function layeredSleepSpec(name: string, layers: number, width: number, seconds: number): string {
  const id = (layer: number, j: number) => `l${layer}s${j}`;
  const steps = [];
  for (let layer = 0; layer < layers; layer++)
    for (let j = 0; j < width; j++)
      steps.push({
        name: id(layer, j),
        site: "lab",
        ...(layer > 0 ? { depends: [...new Set([id(layer - 1, j), id(layer - 1, (j + 1) % width)])] } : {}),
        process: { command: ["sleep", String(seconds)] },
      });
  return JSON.stringify({
    name,
    description: `${layers} layers of ${width} sleep steps, for simulator calibration on LocalStack.`,
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 600, heartbeatSeconds: 0 },
    steps,
  });
}

/** The LocalStack runtime serving site `lab` with `agents` agents of `slots` slots each. */
export function localstackTopology(agents: number, slots: number): string {
  const devices = Array.from(
    { length: agents },
    (_, i) => `      - { name: agent${i + 1}, slots: ${slots} }`,
  );
  return `runtime: localstack\nsites:\n  lab:\n    type: edge\n    devices:\n${devices.join("\n")}\n`;
}

/** `ferry simulate <spec> --topology <t> --calibrate <arn> [extra]`; throws on a non-zero exit. */
export async function simulateCalibrated(
  dir: string,
  spec: string,
  topology: string,
  executionArn: string,
  extra: string[] = [],
): Promise<string> {
  const result = await ferry(
    ["simulate", spec, "--topology", topology, "--calibrate", executionArn, "--runs", "200", ...extra],
    { cwd: dir, env: ferryEnv() },
  );
  if (result.code !== 0)
    throw new Error(`ferry simulate exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}
