import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Artifact types cloud assembly schema 43 (the oldest CLI Ferry supports) knows. */
const SCHEMA_43_ARTIFACT_TYPES = new Set([
  "none",
  "aws:cloudformation:stack",
  "cdk:tree",
  "cdk:asset-manifest",
  "cdk:cloud-assembly",
]);
const OLDEST_SUPPORTED_MAJOR = 43;

export interface CompatResult {
  rewritten: boolean;
  /** Manifest schema version the library wrote. */
  from: string;
  /** Version the CLI reads, when rewritten. */
  to?: string;
  /** Artifacts removed because the CLI's schema does not know their type. */
  droppedArtifacts: string[];
}

/**
 * Lets an older `cdk` CLI read the cloud assembly of a newer aws-cdk-lib.
 *
 * The CLI tells the app which assembly schema it reads (`CDK_CLI_ASM_VERSION`);
 * when that major version is older than the one written, the manifests are
 * relabelled and artifacts of types unknown to the older schema (such as the
 * feature-flag report) are dropped. Stacks, templates and asset manifests are
 * unchanged. Upgrading the CLI to the version named in `minimumCliVersion`
 * makes this a no-op.
 */
export function adaptAssemblyForCli(
  assemblyDir: string,
  cliAssemblyVersion: string | undefined,
): CompatResult {
  const manifestPath = join(assemblyDir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    version: string;
    minimumCliVersion?: string;
    artifacts?: Record<string, { type: string; properties?: { file?: string } }>;
  };
  const from = manifest.version;
  const cliMajor = major(cliAssemblyVersion);
  if (cliMajor === undefined || cliMajor >= (major(from) ?? 0) || cliMajor < OLDEST_SUPPORTED_MAJOR) {
    return { rewritten: false, from, droppedArtifacts: [] };
  }
  const to = `${cliMajor}.0.0`;
  const droppedArtifacts: string[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (!SCHEMA_43_ARTIFACT_TYPES.has(artifact.type)) {
      delete manifest.artifacts![id];
      droppedArtifacts.push(id);
    }
  }
  manifest.version = to;
  delete manifest.minimumCliVersion;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  for (const file of readdirSync(assemblyDir).filter((f) => f.endsWith(".assets.json"))) {
    const path = join(assemblyDir, file);
    const assets = JSON.parse(readFileSync(path, "utf8")) as { version: string };
    assets.version = to;
    writeFileSync(path, JSON.stringify(assets, null, 2));
  }
  return { rewritten: true, from, to, droppedArtifacts };
}

function major(version: string | undefined): number | undefined {
  const m = version?.match(/^(\d+)\./);
  return m ? Number(m[1]) : undefined;
}
