import { createHash } from "node:crypto";
import type { Executor, IrRuntime, IrStep, WorkflowIr } from "../ir/ir.ts";

/**
 * The trusted per-step definitions workers execute. A queue message names a
 * step; only this manifest says which image, command and env that means.
 */
export interface Manifest {
  manifestVersion: 1;
  workflow: string;
  /** Set on a site's manifest (see {@link siteManifest}): it holds that site's steps only. */
  site?: string;
  /** sha256 over the canonical JSON of `steps`. */
  hash: string;
  steps: Record<string, ManifestStep>;
}

export interface ManifestStep {
  name: string;
  site: string;
  executor: Executor;
  queue?: string;
  runtime: IrRuntime;
  resources: IrStep["resources"];
  timeoutSeconds: number;
  heartbeatSeconds?: number;
  inputs: string[];
  outputs: string[];
  cache: IrStep["cache"];
  /** sha256 of this step's definition: changes whenever what runs changes. */
  hash: string;
}

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
      outputs: s.outputs,
      cache: s.cache,
    };
    steps[s.name] = { ...definition, hash: stepHash(definition) };
  }
  return { manifestVersion: 1, workflow: ir.name, hash: manifestHash(steps), steps };
}

/**
 * The manifest one site's workers receive: only the steps placed on that
 * site, with their env and HTTP headers, so no site learns another's. Its
 * hash covers those steps only; workers check it as they check a whole one.
 */
export function siteManifest(manifest: Manifest, site: string): Manifest {
  const steps = Object.fromEntries(Object.entries(manifest.steps).filter(([, s]) => s.site === site));
  return { manifestVersion: 1, workflow: manifest.workflow, site, hash: manifestHash(steps), steps };
}

/** The workflow's hash: over every step's hash, in name order. Workers recompute it to check a manifest. */
export function manifestHash(steps: Record<string, { hash: string }>): string {
  return sha256(
    Object.keys(steps)
      .sort()
      .map((name) => `${name}:${steps[name]!.hash}`)
      .join("\n"),
  );
}

/** The hash of one step's definition (every field but `hash`). */
export function stepHash(definition: Omit<ManifestStep, "hash">): string {
  return sha256(canonicalJson(definition));
}

/** JSON with object keys sorted, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
