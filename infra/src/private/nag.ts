import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges one cdk-nag `AwsSolutions-IAM5` finding (a wildcard resource)
 * on `holder`. cdk-nag v3 matches findings exactly, so the resource is
 * rendered the way cdk-nag prints it: `<Logical.Arn>/prefix/*`, `<AWS::Region>`.
 */
export function acknowledgeWildcardResource(holder: IConstruct, resource: string, reason: string): void {
  Validations.of(holder).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagText(holder, resource)}]`,
    reason,
  });
}

/** Acknowledges a cdk-nag `AwsSolutions-IAM5` finding for a wildcard action such as `s3:GetObject*`. */
export function acknowledgeWildcardAction(holder: IConstruct, action: string, reason: string): void {
  Validations.of(holder).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}

/** A value (possibly holding tokens) flattened the way cdk-nag names it in findings. */
export function nagText(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (node === undefined) return "";
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  if (typeof node === "object" && node !== null) {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o["Fn::Join"])) {
      const [delimiter, items] = o["Fn::Join"] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (o["Fn::Sub"] !== undefined) return flatten(o["Fn::Sub"]);
    if (Array.isArray(o["Fn::GetAtt"])) {
      const [resource, attribute] = o["Fn::GetAtt"] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (o["Fn::ImportValue"] !== undefined) return flatten(o["Fn::ImportValue"]);
    if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
  }
  return JSON.stringify(node);
}
