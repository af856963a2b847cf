import { Duration, type RemovalPolicy, Validations } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

export interface JobBucketOptions {
  expiryDays: number;
  removalPolicy: RemovalPolicy;
}

/**
 * The job-files bucket: scratch space per execution under `<workflow>/<execution>/`.
 * Versioning stays off: job files are per-run scratch data that expire, and
 * versioning would keep every overwritten or expired copy and bill for it.
 */
export function createJobBucket(scope: Construct, options: JobBucketOptions): s3.Bucket {
  const bucket = new s3.Bucket(scope, "JobFiles", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: false,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: options.removalPolicy,
    lifecycleRules: [
      { id: "expire-job-files", expiration: Duration.days(options.expiryDays) },
      { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
  Validations.of(bucket).acknowledge({
    id: "AwsSolutions-S1",
    reason:
      "Job files are short-lived scratch data written only by the workflow's own roles; object-level auditing, when needed, comes from CloudTrail S3 data events rather than a second logging bucket per workflow.",
  });
  return bucket;
}
