import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { IConstruct } from "constructs";
import { acknowledgeWildcardResource } from "./nag.ts";

/** Read and write of one workflow's job files, `<workflow>/<execution>/…`, and nothing else in the bucket. */
export function jobFileStatements(bucket: s3.IBucket, workflow: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: "JobFiles",
      actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
      resources: [bucket.arnForObjects(`${workflow}/*`)],
    }),
    new iam.PolicyStatement({
      sid: "ListJobFiles",
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": [`${workflow}/*`] } },
    }),
  ];
}

/** Acknowledges the IAM5 finding the job-files prefix raises on `policyHolder`. */
export function acknowledgeJobFiles(policyHolder: IConstruct, bucket: s3.IBucket, workflow: string): void {
  acknowledgeWildcardResource(
    policyHolder,
    bucket.arnForObjects(`${workflow}/*`),
    `Job files live under ${workflow}/<execution id>/; the execution id is known only at run time, so access is scoped to the workflow's prefix.`,
  );
}

/**
 * Answering task tokens. SendTaskSuccess, SendTaskFailure and
 * SendTaskHeartbeat have no resource types in IAM: a statement naming
 * state machine ARNs never matches them, so the resource must be `*`. The
 * token itself is the capability; this is the one right all sites share.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
 */
export function taskResponseStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: "AnswerTaskTokens",
    actions: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
    resources: ["*"],
  });
}

/** Acknowledges the IAM5 finding {@link taskResponseStatement} raises on `policyHolder`. */
export function acknowledgeTaskResponse(policyHolder: IConstruct): void {
  acknowledgeWildcardResource(
    policyHolder,
    "*",
    "states:SendTaskSuccess/Failure/Heartbeat support no resource-level permissions; the task token is the capability.",
  );
}
