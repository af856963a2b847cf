import { type Manifest, type ManifestStep, parseManifest } from "@ferry/dsl-compiler/contract";
import { AgentError } from "./errors.ts";

/**
 * Checks a manifest read from disk or S3 (the contract's `parseManifest`):
 * a truncated or hand-edited file is refused rather than run.
 */
export function validateManifest(json: unknown, where: string): Manifest {
  const parsed = parseManifest(json);
  if (!parsed.ok) {
    throw new AgentError("MANIFEST_INVALID", `${where}: ${parsed.reason}`);
  }
  return parsed.manifest;
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
