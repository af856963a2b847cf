import { type Manifest, type ManifestStep, parseManifest } from "@ferry/dsl-compiler/contract";
import type { Logger } from "pino";
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

/** A manifest source that could not be used, and why. */
export interface ManifestRefusal {
  source: string;
  reason: string;
  error: AgentError;
}

/** What one load of every manifest source gave: the manifests that passed, and the refused sources. */
export interface ManifestLoad {
  manifests: Manifest[];
  refused: ManifestRefusal[];
}

export interface ManifestStoreOptions {
  manifests?: Manifest[];
  /**
   * Reloads all manifests (file, S3); called when a message names an
   * unknown workflow or step. Refused sources fail the first load (the agent
   * does not start); later, they are logged and the manifests held before stay.
   */
  load?: () => Promise<Manifest[] | ManifestLoad>;
  /** Where refusals are logged. */
  logger?: Pick<Logger, "error">;
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
  private readonly load: (() => Promise<Manifest[] | ManifestLoad>) | undefined;
  private readonly logger: Pick<Logger, "error"> | undefined;
  private loaded = false;
  private lastRefusals: ManifestRefusal[] = [];
  private readonly reloadIntervalMs: number;
  private lastLoadMs = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  constructor(options: ManifestStoreOptions = {}) {
    for (const manifest of options.manifests ?? []) this.add(manifest);
    this.loaded = this.byWorkflow.size > 0;
    this.load = options.load;
    this.reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
    this.logger = options.logger;
  }

  /** The sources the last load refused, with the reasons (empty when none). */
  get refusals(): readonly ManifestRefusal[] {
    return this.lastRefusals;
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
      .then((result) => {
        const { manifests, refused } = Array.isArray(result) ? { manifests: result, refused: [] } : result;
        this.lastRefusals = refused;
        if (refused.length > 0 && !this.loaded) {
          // Nothing trusted yet: the agent must not start on a refused manifest.
          if (refused.length === 1) throw refused[0]!.error;
          throw new AgentError(refused[0]!.error.code, refused.map((r) => r.reason).join("; "));
        }
        for (const manifest of manifests) this.add(manifest);
        this.loaded = true;
        for (const refusal of refused) {
          this.logger?.error(
            { source: refusal.source, reason: refusal.reason, code: refusal.error.code },
            `${refusal.reason}; nothing from it runs, the manifests loaded before stay in use`,
          );
        }
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
