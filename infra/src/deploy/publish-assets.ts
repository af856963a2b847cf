import { readFileSync } from "node:fs";
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import type { FileAsset } from "./synthesize-stack.ts";
import { zipDirectory } from "./zip-directory.ts";

/** Placeholders CDK leaves in asset destinations. */
export interface AssetPlaceholders {
  accountId: string;
  region: string;
  partition: string;
}

export function resolvePlaceholders(text: string, values: AssetPlaceholders): string {
  const byName: Record<string, string> = {
    AccountId: values.accountId,
    Region: values.region,
    Partition: values.partition,
  };
  return text.replace(/\$\{AWS::(AccountId|Region|Partition)\}/g, (_, name: string) => byName[name]!);
}

export interface PublishedAsset {
  bucket: string;
  key: string;
  /** False when an object with the same content-addressed key was already there. */
  uploaded: boolean;
}

/**
 * Uploads the stack's file assets to Ferry's staging bucket, creating the
 * bucket (private, public access blocked) on first use. Asset keys are
 * content hashes, so an object already present is never uploaded again.
 */
export async function publishAssets(
  assets: FileAsset[],
  context: AwsContext,
  placeholders: AssetPlaceholders,
): Promise<PublishedAsset[]> {
  if (assets.length === 0) return [];
  const s3 = new S3Client(clientConfig(context, placeholders.region));
  const ensured = new Set<string>();
  const published: PublishedAsset[] = [];
  try {
    for (const asset of assets) {
      const bucket = resolvePlaceholders(asset.bucketName, placeholders);
      const key = resolvePlaceholders(asset.objectKey, placeholders);
      if (!ensured.has(bucket)) {
        await ensureBucket(s3, bucket, placeholders.region);
        ensured.add(bucket);
      }
      if (await exists(s3, bucket, key)) {
        published.push({ bucket, key, uploaded: false });
        continue;
      }
      const body = asset.packaging === "zip" ? zipDirectory(asset.path) : readFileSync(asset.path);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      } catch (error) {
        throw new DeployError(
          "ASSET_UPLOAD_FAILED",
          `asset ${asset.id}: upload to s3://${bucket}/${key} failed: ${(error as Error).message}; check that your credentials may write to the bucket`,
          { cause: error },
        );
      }
      published.push({ bucket, key, uploaded: true });
    }
  } finally {
    s3.destroy();
  }
  return published;
}

async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) {
      throw new DeployError(
        "ASSET_UPLOAD_FAILED",
        `staging bucket ${bucket}: cannot use it (HTTP ${status ?? "?"}: ${(error as Error).message}); it must belong to this account`,
        { cause: error },
      );
    }
  }
  const input: CreateBucketCommandInput = {
    Bucket: bucket,
    // us-east-1 is the one region CreateBucket refuses a location constraint for.
    ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
  };
  await s3.send(new CreateBucketCommand(input));
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw error;
  }
}
