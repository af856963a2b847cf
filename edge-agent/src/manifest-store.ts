import { type Manifest, type ManifestStep, manifestHash, stepHash } from "@ferry/dsl-compiler";
import { z } from "zod";
import { AgentError } from "./errors.ts";

const ManifestShape = z.looseObject({
  manifestVersion: z.literal(1),
  workflow: z.string().min(1),
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
 * Checks a manifest read from disk or S3: its shape, and that its hashes match
 * its content, so a truncated or hand-edited file is refused rather than run.
 */
export function validateManifest(json: unknown, where: string): Manifest {
  const parsed = ManifestShape.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AgentError(
      "MANIFEST_INVALID",
      `${where}: ${issue.path.join(".") || "(root)"}: ${issue.message} — regenerate it with \`ferry compile\``,
    );
  }
  const manifest = json as Manifest;
  if (manifestHash(manifest.steps) !== manifest.hash) {
    throw new AgentError(
      "MANIFEST_INVALID",
      `${where}: hash does not match its steps — the file was altered or truncated`,
    );
  }
  for (const [name, step] of Object.entries(manifest.steps)) {
    const { hash, ...definition } = step;
    if (stepHash(definition as Omit<ManifestStep, "hash">) !== hash || step.name !== name) {
      throw new AgentError("MANIFEST_INVALID", `${where}: steps.${name}: hash does not match its definition`);
    }
  }
  return manifest;
}

export interface ManifestStoreOptions {
  manifests?: Manifest[];
  /** Reloads all manifests (file, S3); called when a message names an unknown workflow or step. */
  load?: () => Promise<Manifest[]>;
  /**
   * Least time between two reloads, so a flood of bad messages cannot hammer S3.
   * @default 30000
   */
  reloadIntervalMs?: number;
}

/**
 * The trusted manifests a worker runs steps from, keyed by workflow. A queue
 * message only names `workflow` + `step`; what runs comes from here.
 */
export class ManifestStore {
  private readonly byWorkflow = new Map<string, Manifest>();
  private readonly load: (() => Promise<Manifest[]>) | undefined;
  private readonly reloadIntervalMs: number;
  private lastLoadMs = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  constructor(options: ManifestStoreOptions = {}) {
    for (const manifest of options.manifests ?? []) this.add(manifest);
    this.load = options.load;
    this.reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
  }

  /** Adds or replaces the manifest of one workflow. */
  add(manifest: Manifest): void {
    this.byWorkflow.set(manifest.workflow, manifest);
  }

  get workflows(): string[] {
    return [...this.byWorkflow.keys()];
  }

  /** Loads manifests now (at agent start). */
  async reload(): Promise<void> {
    if (!this.load) return;
    this.loading ??= this.load()
      .then((manifests) => {
        for (const manifest of manifests) this.add(manifest);
      })
      .finally(() => {
        this.lastLoadMs = Date.now();
        this.loading = undefined;
      });
    await this.loading;
  }

  resolve(workflow: string, step: string): ManifestStep | undefined {
    const steps = this.byWorkflow.get(workflow)?.steps;
    return steps && Object.hasOwn(steps, step) ? steps[step] : undefined;
  }

  /** Like {@link resolve}, reloading once (rate-limited) when the step is unknown: a new workflow may have been deployed. */
  async resolveFresh(workflow: string, step: string): Promise<ManifestStep | undefined> {
    const known = this.resolve(workflow, step);
    if (known || !this.load || Date.now() - this.lastLoadMs < this.reloadIntervalMs) return known;
    await this.reload();
    return this.resolve(workflow, step);
  }
}
