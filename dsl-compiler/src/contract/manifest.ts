import { hash } from "node:crypto";
import { z } from "zod";
import type { Executor, IrRuntime, IrStep } from "../ir/ir.ts";

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
  /** The site whose step wrote each input: job files live under the writing site's keys. */
  inputSites: Record<string, string>;
  outputs: string[];
  cache: IrStep["cache"];
  /** sha256 of this step's definition: changes whenever what runs changes. */
  hash: string;
}

/** The shape a worker checks before trusting a manifest file; the hashes then check the content. */
export const ManifestSchema = z.looseObject({
  manifestVersion: z.literal(1),
  workflow: z.string().min(1),
  site: z.string().min(1).optional(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  steps: z.record(
    z.string(),
    z.looseObject({
      name: z.string(),
      site: z.string(),
      runtime: z.looseObject({ kind: z.enum(["process", "container", "function", "http"]) }),
      timeoutSeconds: z.number().positive(),
      hash: z.string(),
    }),
  ),
});

/**
 * Checks a manifest read from disk or S3: its shape, and that its hashes
 * match its content, so a truncated or hand-edited file is refused rather
 * than run. Never throws.
 */
export function parseManifest(
  json: unknown,
): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      reason: `${issue.path.join(".") || "(root)"}: ${issue.message} — regenerate it with \`ferry compile\``,
    };
  }
  const manifest = json as Manifest;
  if (manifestHash(manifest.steps) !== manifest.hash) {
    return { ok: false, reason: "hash does not match its steps — the file was altered or truncated" };
  }
  for (const [name, step] of Object.entries(manifest.steps)) {
    const { hash, ...definition } = step;
    if (stepHash(definition as Omit<ManifestStep, "hash">) !== hash || step.name !== name) {
      return { ok: false, reason: `steps.${name}: hash does not match its definition` };
    }
  }
  return { ok: true, manifest };
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

/**
 * JSON with object keys sorted, so equal content always hashes equally.
 * Built in one pass with plain loops: it runs on every step input (cache
 * keys, provenance), where a large upstream output makes it the per-step cost.
 * `memo` keeps the text of objects already written, for callers that write
 * a value and then its parts (a step input, then each dependency's output).
 */
export function canonicalJson(value: unknown, memo?: Map<object, string>): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const known = memo?.get(value);
  if (known !== undefined) return known;
  const text = objectJson(value, memo);
  memo?.set(value, text);
  return text;
}

function objectJson(value: object, memo: Map<object, string> | undefined): string {
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ",";
      const v: unknown = value[i];
      text += v === null || typeof v !== "object" ? (JSON.stringify(v) ?? "null") : canonicalJson(v, memo);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  // Code-unit order, as `<` compares: the same order for every engine and key shape.
  const keys = Object.keys(record).sort();
  let text = "{";
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${v === null || typeof v !== "object" ? (JSON.stringify(v) ?? "null") : canonicalJson(v, memo)}`;
    first = false;
  }
  return `${text}}`;
}

export function sha256(text: string): string {
  // One-shot: a Hash object per call cost more than hashing a short text.
  return hash("sha256", text);
}
