import { RemovalPolicy, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";

/** Attribute holding an item's expiry (epoch seconds); DynamoDB's TTL deletes old join records. */
export const JOIN_TTL_ATTRIBUTE = "expiresAt";

/**
 * The table that joins DAG edges crossing Parallel branches: one item per
 * (execution, step), keyed `pk` = `<execution>#<step>`. On-demand, since the
 * traffic is bursty and follows executions.
 */
export function createJoinTable(scope: Construct): dynamodb.Table {
  const table = new dynamodb.Table(scope, "JoinTable", {
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: JOIN_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    // Only in-flight join records live here; nothing to keep once the stack is gone.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(table).acknowledge({
    id: "AwsSolutions-DDB3",
    reason:
      "The join table holds only transient per-execution join records that expire; a point-in-time restore would have nothing worth recovering.",
  });
  return table;
}
