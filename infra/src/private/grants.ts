import type { IrStep } from "@ferry/dsl-compiler";
import {
  parseSecretRef,
  secretResourceArn,
  secretUses,
  sharedCachePattern,
  siteKeyPatterns,
} from "@ferry/dsl-compiler/contract";
import { Aws, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct, IConstruct } from "constructs";
import { acknowledgeWildcardResource } from "./nag.ts";

/** Whose job files a principal touches: it writes as `site`, and reads `readSites`' keys (its own among them). */
export interface JobFileAccess {
  workflow: string;
  site: string;
  readSites: readonly string[];
}

/**
 * Job-file grants in the bucket key layout: write under the principal's own
 * site only (job files, large outputs, logs, provenance, its cache entries),
 * read the sites it depends on and every site's cache entries. Each
 * resource is a fixed prefix plus `*` (see `siteKeyPatterns`).
 */
export function jobFileStatements(bucket: s3.IBucket, access: JobFileAccess): iam.PolicyStatement[] {
  const own = siteKeyPatterns(access.workflow, access.site);
  const readable = [
    ...access.readSites.map((s) => siteKeyPatterns(access.workflow, s).files),
    sharedCachePattern(access.workflow),
  ];
  return [
    new iam.PolicyStatement({
      sid: "WriteOwnSiteKeys",
      actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
      resources: [own.files, own.cache].map((p) => bucket.arnForObjects(p)),
    }),
    new iam.PolicyStatement({
      sid: "ReadUpstreamSiteKeys",
      actions: ["s3:GetObject"],
      resources: readable.map((p) => bucket.arnForObjects(p)),
    }),
    new iam.PolicyStatement({
      // HeadObject of a missing key answers 404 (not 403) only with ListBucket.
      sid: "ListUpstreamSiteKeys",
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": readable } },
    }),
  ];
}

/** Acknowledges the IAM5 findings the job-file prefixes raise on `policyHolder`. */
export function acknowledgeJobFiles(
  policyHolder: IConstruct,
  bucket: s3.IBucket,
  access: JobFileAccess,
): void {
  const own = siteKeyPatterns(access.workflow, access.site);
  const patterns = new Set([
    own.files,
    own.cache,
    ...access.readSites.map((s) => siteKeyPatterns(access.workflow, s).files),
    sharedCachePattern(access.workflow),
  ]);
  for (const pattern of patterns) {
    acknowledgeWildcardResource(
      policyHolder,
      bucket.arnForObjects(pattern),
      `Job files live under ${pattern.slice(0, -1)}<execution id>/ or are cache entries keyed at run time; the execution id is known only at run time, so access is scoped to one site's prefix.`,
    );
  }
}

/** The inline policy of a Ferry Lambda function's role: write its own log group, nothing else. */
export function lambdaLogsPolicy(logGroup: logs.ILogGroup): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    ],
  });
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

/**
 * Reading the secrets `steps` reference, and nothing else: `ssm:GetParameter`
 * on each referenced parameter's ARN, `secretsmanager:GetSecretValue` on
 * each referenced secret's ARN (its name plus the `-??????` suffix Secrets
 * Manager appends), in the stack's account and region. Values encrypted
 * with the AWS managed keys (aws/ssm, aws/secretsmanager) need no KMS
 * grant; a customer managed key needs `kms:Decrypt` with
 * `kms:ViaService` granted by its key policy (see infra/README.md).
 */
export function secretReadStatements(scope: Construct, steps: readonly IrStep[]): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const where = { partition: Aws.PARTITION, region: stack.region, account: stack.account };
  const parameters = new Set<string>();
  const secrets = new Set<string>();
  for (const step of steps) {
    const runtime = step.runtime;
    for (const use of secretUses(runtime)) {
      // Lambda functions get env variables only; http-task headers are read by CloudFormation, not a worker.
      if (use.field === "headers" && step.executor === "http-task") continue;
      const parsed = parseSecretRef(use.ref);
      if (typeof parsed === "string") continue;
      (parsed.service === "ssm" ? parameters : secrets).add(secretResourceArn(parsed, where));
    }
  }
  const statements: iam.PolicyStatement[] = [];
  if (parameters.size > 0)
    statements.push(
      new iam.PolicyStatement({
        sid: "ReadOwnStepParameters",
        actions: ["ssm:GetParameter"],
        resources: [...parameters].sort(),
      }),
    );
  if (secrets.size > 0)
    statements.push(
      new iam.PolicyStatement({
        sid: "ReadOwnStepSecrets",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [...secrets].sort(),
      }),
    );
  return statements;
}
