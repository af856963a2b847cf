import type { CompiledWorkflow } from "../compiled.ts";
import { buildManifest } from "./manifest.ts";

/**
 * The workflow with every container step pinned to the digest its image
 * resolves to (`ferry compile --pin-images`). The digest is part of the
 * step's definition, so the manifest hash covers exactly what runs, and
 * agents refuse an image whose digest differs. Pure: the caller resolves.
 *
 * @param digests image reference → digest (`sha256:…`), for every container step's image
 * @returns the pinned workflow, or the images no digest was given for
 */
export function pinImageDigests(
  compiled: CompiledWorkflow,
  digests: Readonly<Record<string, string>>,
): { ok: true; compiled: CompiledWorkflow } | { ok: false; missing: string[] } {
  const missing = new Set<string>();
  const steps = compiled.ir.steps.map((step) => {
    if (step.runtime.kind !== "container") return step;
    const digest = digests[step.runtime.image];
    if (!digest) {
      missing.add(step.runtime.image);
      return step;
    }
    return { ...step, runtime: { ...step.runtime, imageDigest: digest } };
  });
  if (missing.size > 0) return { ok: false, missing: [...missing].sort() };
  const ir = { ...compiled.ir, steps };
  return { ok: true, compiled: { ...compiled, ir, manifest: buildManifest(ir) } };
}
