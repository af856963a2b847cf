import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CompiledWorkflow, type Manifest, siteManifest } from "@ferry/dsl-compiler";
import { MANIFEST_KEY_SPEC } from "@ferry/dsl-compiler/contract";
import { Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as kms from "aws-cdk-lib/aws-kms";
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
   * The asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) `ferry deploy` signs
   * each site's manifest with; agents trust manifests it signed.
   */
  readonly signingKey: kms.Key;
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
  /**
   * `s3://<staging bucket>/<key>` of the signed manifest `ferry deploy`
   * writes after each deploy (see {@link signedManifestKey}): one fixed key
   * per stack and site, so agents need no change when the manifest does.
   */
  readonly signedS3Uri: string;
  /** ARN of that object, for the site's worker policy. */
  readonly signedObjectArn: string;
}

/** Key of a site's signed manifest in the staging bucket: the same on every deploy of the stack. */
export function signedManifestKey(stackName: string, site: string): string {
  return `ferry/signed-manifests/${stackName}/${site}.json`;
}

/**
 * The JSON in the deployment parameter, `/ferry/<stack>/<workflow>`: one
 * lookup gives an agent its queue, the bucket and the manifest.
 */
export interface DeploymentDocument {
  v: 1;
  workflow: string;
  manifest: { s3Uri: string; sha256: string; hash: string };
  /** ARN of the KMS key site manifests are signed with. */
  manifestSigningKey: string;
  jobBucket: string;
  /** The step cache index table, when a step caches (agents: `stepCache.table`). */
  cacheTable?: string;
  /** Job files of an execution live under `<jobFilesPrefix><execution name>/`. */
  jobFilesPrefix: string;
  stateMachineArn: string;
  /** Each worker site's own manifest, by site name. */
  siteManifests: Record<string, { s3Uri: string; sha256: string; hash: string; signedS3Uri: string }>;
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
  removalPolicy: RemovalPolicy,
  document: (manifest: Omit<PublishedManifest, "parameter">) => DeploymentDocument,
): PublishedManifest {
  const root = new Construct(scope, "Manifest");
  const stack = Stack.of(scope);
  const signingKey = new kms.Key(root, "SigningKey", {
    description: `Ferry ${compiled.ir.name}: signs the manifests of its sites (ferry deploy); agents verify`,
    keySpec: kms.KeySpec[MANIFEST_KEY_SPEC],
    keyUsage: kms.KeyUsage.SIGN_VERIFY,
    // Asymmetric keys cannot rotate; a new key means new agent configs.
    enableKeyRotation: false,
    pendingWindow: Duration.days(7),
    removalPolicy,
  });
  const whole = stageManifest(root, "File", compiled.ir.name, compiled.manifest);
  const sites = new Map(
    [...new Set(workerSites)].map((site) => {
      const manifest = siteManifest(compiled.manifest, site);
      const staged = stageManifest(root, `Site-${site}`, `${compiled.ir.name}-${site}`, manifest);
      const key = signedManifestKey(stack.stackName, site);
      return [
        site,
        {
          ...staged,
          hash: manifest.hash,
          signedS3Uri: `s3://${staged.asset.s3BucketName}/${key}`,
          signedObjectArn: staged.asset.bucket.arnForObjects(key),
        },
      ];
    }),
  );
  const { asset, s3Uri, sha256 } = whole;
  const doc = document({ asset, s3Uri, sha256, sites, signingKey });
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
  return { asset, s3Uri, sha256, parameter, sites, signingKey };
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
