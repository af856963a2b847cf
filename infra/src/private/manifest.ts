import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CompiledWorkflow, type Manifest, siteManifest } from "@ferry/dsl-compiler";
import { Stack } from "aws-cdk-lib";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { sha256Hex } from "./names.ts";

/** Where agents find the trusted manifest and everything else they need. */
export interface PublishedManifest {
  /** The manifest JSON as a CDK file asset: uploaded by `cdk deploy` itself, no custom resource or Lambda. */
  readonly asset: s3assets.Asset;
  /** `s3://<bucket>/<key>` of the manifest. */
  readonly s3Uri: string;
  /** sha256 of the manifest file's bytes; agents check it after download. */
  readonly sha256: string;
  /** The deployment document agents start from (see `DeploymentDocument`). */
  readonly parameter: ssm.StringParameter;
  /**
   * One manifest per site with workers (edge agents, Fargate pools), holding
   * only that site's steps: each site's policy reads its own and no other.
   */
  readonly sites: Map<string, SiteManifestAsset>;
}

/** A site's own manifest as a file asset. */
export interface SiteManifestAsset {
  readonly asset: s3assets.Asset;
  readonly s3Uri: string;
  readonly sha256: string;
  /** The site manifest's `hash` (over its steps). */
  readonly hash: string;
}

/**
 * The JSON in the deployment parameter, `/ferry/<stack>/<workflow>`: one
 * lookup gives an agent its queue, the bucket and the manifest.
 */
export interface DeploymentDocument {
  v: 1;
  workflow: string;
  manifest: { s3Uri: string; sha256: string; hash: string };
  jobBucket: string;
  /** Job files of an execution live under `<jobFilesPrefix><execution name>/`. */
  jobFilesPrefix: string;
  stateMachineArn: string;
  /** Each worker site's own manifest, by site name. */
  siteManifests: Record<string, { s3Uri: string; sha256: string; hash: string }>;
  /** Queues workers poll (agents and Fargate pools), by queue id. */
  queues: Record<string, { url: string; site: string; executor: string }>;
}

/** SSM Standard parameters hold 4 KB; Advanced ones 8 KB. */
const STANDARD_PARAMETER_MAX = 4096;
/** Rough lengths of values only known at deploy time, to choose the parameter tier. */
const TOKEN_LENGTH_ESTIMATE = 200;

export function publishManifest(
  scope: Construct,
  compiled: CompiledWorkflow,
  workerSites: readonly string[],
  document: (manifest: Omit<PublishedManifest, "parameter">) => DeploymentDocument,
): PublishedManifest {
  const root = new Construct(scope, "Manifest");
  const whole = stageManifest(root, "File", compiled.ir.name, compiled.manifest);
  const sites = new Map(
    [...new Set(workerSites)].map((site) => {
      const manifest = siteManifest(compiled.manifest, site);
      const staged = stageManifest(root, `Site-${site}`, `${compiled.ir.name}-${site}`, manifest);
      return [site, { ...staged, hash: manifest.hash }];
    }),
  );
  const { asset, s3Uri, sha256 } = whole;
  const doc = document({ asset, s3Uri, sha256, sites });
  const stack = Stack.of(scope);
  const estimate = JSON.stringify(doc).replace(
    /\$\{Token\[[^\]]+\]\}/g,
    "x".repeat(TOKEN_LENGTH_ESTIMATE),
  ).length;
  const parameter = new ssm.StringParameter(root, "Deployment", {
    parameterName: `/ferry/${stack.stackName}/${compiled.ir.name}`,
    description: `Ferry ${compiled.ir.name}: queues, job bucket and manifest location for workers`,
    stringValue: stack.toJsonString(doc),
    tier: estimate > STANDARD_PARAMETER_MAX ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
  });
  return { asset, s3Uri, sha256, parameter, sites };
}

function stageManifest(
  scope: Construct,
  id: string,
  fileStem: string,
  manifest: Manifest,
): { asset: s3assets.Asset; s3Uri: string; sha256: string } {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const sha256 = sha256Hex(text);
  // Content-addressed: the same manifest always stages as the same asset.
  const dir = join(tmpdir(), "ferry-manifests");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${fileStem}-${sha256.slice(0, 16)}.json`);
  writeFileSync(file, text);
  const asset = new s3assets.Asset(scope, id, { path: file });
  return { asset, s3Uri: asset.s3ObjectUrl, sha256 };
}
