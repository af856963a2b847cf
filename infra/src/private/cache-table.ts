import type { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/** Attribute holding an entry's expiry (epoch seconds). DynamoDB deletes lazily, so readers check it too. */
export const CACHE_TTL_ATTRIBUTE = "expiresAtEpoch";

/**
 * The step cache index: one item per workflow and cache key (`pk` =
 * `<workflow>#<key>`) holding the entry, which answers a lookup in one
 * read, plus `claim#…` items that elect one runner of identical steps.
 * The entries' files live in each site's cache segment of the job bucket.
 */
export function createCacheTable(scope: Construct, removalPolicy: RemovalPolicy): dynamodb.Table {
  return new dynamodb.Table(scope, "StepCacheIndex", {
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: CACHE_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
  });
}

/** Reading, writing and claiming cache entries: every worker site shares the index, as the keys are content. */
export function cacheTableStatement(table: dynamodb.ITable): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: "StepCacheIndex",
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
    resources: [table.tableArn],
  });
}
