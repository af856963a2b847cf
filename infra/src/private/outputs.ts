import { CfnOutput } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { PublishedManifest } from "./manifest.ts";
import { pascalCase, UniqueNames } from "./names.ts";
import type { StepQueue } from "./step-queues.ts";

export interface OutputValues {
  prefix: string;
  stateMachine: sfn.StateMachine;
  bucket: s3.IBucket;
  manifest: PublishedManifest;
  queues: Map<string, StepQueue>;
  workerPolicies: Map<string, iam.ManagedPolicy>;
  /** The `notify:` topic, created or given. */
  notifyTopicArn?: string;
  /** The step cache index, when a step caches. */
  cacheTableName?: string;
}

/**
 * Stack outputs with readable keys (`<Prefix>StateMachineArn`,
 * `<Prefix>QueueUrlSiteLab`, …): what agents, the LocalStack tests and
 * people look up after a deploy.
 */
export function createOutputs(scope: Construct, values: OutputValues): void {
  const group = new Construct(scope, "Outputs");
  const keys = new UniqueNames();
  const output = (key: string, value: string, description: string) => {
    const out = new CfnOutput(group, key, { value, description });
    out.overrideLogicalId(keys.take(`${values.prefix}${key}`));
  };
  output("StateMachineArn", values.stateMachine.stateMachineArn, "ARN of the workflow's root state machine");
  output(
    "JobBucketName",
    values.bucket.bucketName,
    "bucket holding job files, under <workflow>/<execution>/",
  );
  output("ManifestS3Uri", values.manifest.s3Uri, `trusted manifest (sha256 ${values.manifest.sha256})`);
  output(
    "DeploymentParameterName",
    values.manifest.parameter.parameterName,
    "SSM parameter with queues, bucket and manifest location, for workers",
  );
  output(
    "ManifestSigningKeyArn",
    values.manifest.signingKey.keyArn,
    "KMS key ferry deploy signs site manifests with (agents: manifestSigningKey)",
  );
  if (values.cacheTableName !== undefined)
    output(
      "CacheTableName",
      values.cacheTableName,
      "DynamoDB table indexing cached step results (agents: stepCache.table)",
    );
  if (values.notifyTopicArn !== undefined)
    output("NotifyTopicArn", values.notifyTopicArn, "SNS topic announcing every finished execution");
  for (const [site, m] of values.manifest.sites) {
    output(
      `SiteManifestS3Uri${pascalCase(site)}`,
      m.s3Uri,
      `manifest of site ${site}'s steps (sha256 ${m.sha256})`,
    );
    output(
      `SignedSiteManifestS3Uri${pascalCase(site)}`,
      m.signedS3Uri,
      `site ${site}'s manifest as signed by ferry deploy (hash ${m.hash})`,
    );
  }
  for (const { ir, queue } of values.queues.values()) {
    output(
      `QueueUrl${pascalCase(ir.id)}`,
      queue.queueUrl,
      `queue ${ir.id}: ${ir.executor} steps on site ${ir.site}`,
    );
  }
  for (const [queueId, policy] of values.workerPolicies) {
    output(
      `WorkerPolicyArn${pascalCase(queueId)}`,
      policy.managedPolicyArn,
      `managed policy for the workers of queue ${queueId}`,
    );
  }
}
