import { createPublicKey } from "node:crypto";
import { GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type Manifest, siteManifest } from "@ferry/dsl-compiler";
import {
  MANIFEST_SIGNING_ALGORITHM,
  manifestSigningPayload,
  signedManifest,
  verifySignedManifest,
} from "@ferry/dsl-compiler/contract";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import type { WorkflowDeployment } from "./deployment.ts";

/** One site's signed manifest after a deploy. */
export interface SignedSiteManifest {
  site: string;
  /** `s3://…` of the signed envelope (the same key on every deploy). */
  s3Uri: string;
  /** The manifest hash now published. */
  hash: string;
  /** The hash the envelope held before this deploy; absent on the first deploy. */
  previousHash?: string;
  /** False when the published envelope already held this manifest, validly signed: nothing was written. */
  signed: boolean;
}

/**
 * Signs each worker site's manifest with the stack's KMS key (kms:Sign,
 * ECDSA_SHA_256 over `manifestSigningPayload`: workflow, site, manifest
 * hash, signing time) and writes the envelope to the site's fixed key in
 * the staging bucket, where agents read it. An envelope that already holds
 * the same manifest with a valid signature is left alone, so an unchanged
 * redeploy writes nothing. Each new signature is verified with the key's
 * public key before it is written.
 */
export async function signSiteManifests(
  manifest: Manifest,
  deployment: WorkflowDeployment,
  context: AwsContext,
  options: { now?: () => Date; log?: (line: string) => void } = {},
): Promise<SignedSiteManifest[]> {
  const keyId = deployment.manifestSigningKeyArn;
  const sites = new Map<string, string>();
  for (const q of Object.values(deployment.queues)) {
    if (q.signedManifestS3Uri) sites.set(q.site, q.signedManifestS3Uri);
  }
  if (sites.size === 0) return [];
  if (!keyId) {
    throw new DeployError(
      "OUTPUT_MISSING",
      `stack ${deployment.stackName}: output WorkflowManifestSigningKeyArn is missing; re-deploy the workflow with this version of Ferry`,
    );
  }
  const config = clientConfig(context, deployment.region);
  const kms = new KMSClient(config);
  const s3 = new S3Client(config);
  const fail = (what: string, error: unknown): never => {
    throw new DeployError(
      "MANIFEST_SIGNING_FAILED",
      `${what}: ${(error as Error).message}; your credentials need kms:Sign and kms:GetPublicKey on ${keyId} and s3:GetObject/PutObject on the staging bucket`,
      { cause: error },
    );
  };
  try {
    const publicKey = await kms
      .send(new GetPublicKeyCommand({ KeyId: keyId }))
      .then((out) => createPublicKey({ key: Buffer.from(out.PublicKey!), format: "der", type: "spki" }))
      .catch((error: unknown) => fail(`reading the public key of ${keyId}`, error));
    const results: SignedSiteManifest[] = [];
    for (const [site, s3Uri] of sites) {
      const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(s3Uri)!;
      const current = siteManifest(manifest, site);
      const before = await readEnvelope(s3, bucket!, key!);
      const previousHash = hashIn(before);
      const previous = before === undefined ? undefined : verifySignedManifest(before, publicKey);
      if (previous?.ok && previous.manifest.hash === current.hash) {
        results.push({ site, s3Uri, hash: current.hash, previousHash: current.hash, signed: false });
        continue;
      }
      const signedAt = (options.now?.() ?? new Date()).toISOString();
      const out = await kms
        .send(
          new SignCommand({
            KeyId: keyId,
            Message: manifestSigningPayload(current, signedAt),
            MessageType: "RAW",
            SigningAlgorithm: MANIFEST_SIGNING_ALGORITHM,
          }),
        )
        .catch((error: unknown) => fail(`signing site ${site}'s manifest with ${keyId}`, error));
      const envelope = signedManifest(current, { keyId, signedAt, der: out.Signature! });
      const check = verifySignedManifest(JSON.parse(JSON.stringify(envelope)), publicKey);
      if (!check.ok) {
        throw new DeployError(
          "MANIFEST_SIGNING_FAILED",
          `site ${site}'s new signature does not verify (${check.reason}); nothing was written`,
        );
      }
      await s3
        .send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: `${JSON.stringify(envelope, null, 2)}\n`,
            ContentType: "application/json",
          }),
        )
        .catch((error: unknown) => fail(`writing ${s3Uri}`, error));
      options.log?.(`signed site ${site}'s manifest (hash ${current.hash}) → ${s3Uri}`);
      results.push({
        site,
        s3Uri,
        hash: current.hash,
        ...(previousHash ? { previousHash } : {}),
        signed: true,
      });
    }
    return results;
  } finally {
    kms.destroy();
    s3.destroy();
  }
}

async function readEnvelope(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await out.Body!.transformToString());
  } catch {
    // Absent (first deploy) or unreadable: it is overwritten with a good one.
    return undefined;
  }
}

function hashIn(envelope: unknown): string | undefined {
  const hash = (envelope as { manifest?: { hash?: unknown } } | undefined)?.manifest?.hash;
  return typeof hash === "string" ? hash : undefined;
}

/** The sites whose manifest hash this deploy changed: agents pinning `manifestHashes` there need the new hash. */
export function changedManifestHashes(signed: readonly SignedSiteManifest[]): SignedSiteManifest[] {
  return signed.filter((s) => s.previousHash !== undefined && s.previousHash !== s.hash);
}
