import { type Manifest, type ManifestStep, manifestHash, stepHash } from "../contract/manifest.ts";
import type { WorkflowIr } from "../ir/ir.ts";

export function buildManifest(ir: WorkflowIr): Manifest {
  const steps: Record<string, ManifestStep> = {};
  for (const s of ir.steps) {
    const definition = {
      name: s.name,
      site: s.site,
      executor: s.executor,
      ...(s.queue ? { queue: s.queue } : {}),
      runtime: s.runtime,
      resources: s.resources,
      timeoutSeconds: s.timeoutSeconds,
      ...(s.heartbeatSeconds !== undefined ? { heartbeatSeconds: s.heartbeatSeconds } : {}),
      inputs: s.inputs,
      inputSites: s.inputSites,
      outputs: s.outputs,
      cache: s.cache,
    };
    steps[s.name] = { ...definition, hash: stepHash(definition) };
  }
  return { manifestVersion: 1, workflow: ir.name, hash: manifestHash(steps), steps };
}
