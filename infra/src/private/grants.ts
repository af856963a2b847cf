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

/** Answering task tokens of this workflow's state machines. */
export function taskResponseStatement(stateMachineArns: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: "AnswerTaskTokens",
    actions: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
    resources: stateMachineArns,
  });
}
