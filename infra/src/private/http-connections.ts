import type { IrStep, WorkflowIr } from "@ferry/dsl-compiler";
import { parseSecretRef, secretUses } from "@ferry/dsl-compiler/contract";
import { SecretValue } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import { Construct } from "constructs";

/** Header Ferry's default connections send; it names the workflow and carries no secret. */
export const DEFAULT_HTTP_AUTH_HEADER = "X-Ferry-Workflow";

export interface HttpStepConnection {
  step: IrStep & { runtime: { kind: "http" } };
  connection: events.Connection;
}

/**
 * The step's `{ secret: "secretsmanager:…" }` headers as connection header
 * parameters: the template holds a `{{resolve:secretsmanager:…}}` dynamic
 * reference that CloudFormation resolves at deploy time into the
 * connection's own secret, so the value is in neither the template nor the
 * state machine definition. (SSM references are refused on aws HTTP steps
 * at validation: CloudFormation resolves SecureStrings for few resources.)
 */
function secretHeaders(step: HttpStepConnection["step"]): Record<string, events.HttpParameter> | undefined {
  const entries = secretUses(step.runtime).flatMap((use) => {
    const parsed = parseSecretRef(use.ref);
    if (typeof parsed === "string" || parsed.service !== "secretsmanager") return [];
    const value = SecretValue.secretsManager(
      parsed.name,
      parsed.jsonKey ? { jsonField: parsed.jsonKey } : {},
    );
    return [[use.key, events.HttpParameter.fromSecret(value)] as const];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/**
 * An EventBridge connection per HTTP step, which Step Functions' HTTP task
 * requires for authentication. Steps without an authorization of their own
 * get an API-key connection whose "key" is the header
 * `X-Ferry-Workflow: <workflow>`: no credential, only identification.
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html
 */
export function createHttpConnections(
  scope: Construct,
  ir: WorkflowIr,
  authorizations: Record<string, events.Authorization>,
): Map<string, HttpStepConnection> {
  const connections = new Map<string, HttpStepConnection>();
  const steps = ir.steps.filter(
    (s): s is HttpStepConnection["step"] => s.executor === "http-task" && s.runtime.kind === "http",
  );
  if (steps.length === 0) return connections;
  const root = new Construct(scope, "HttpConnections");
  for (const step of steps) {
    const connection = new events.Connection(root, step.name, {
      description: `Ferry ${ir.name}/${step.name}: ${step.runtime.method} ${step.runtime.url}`.slice(0, 512),
      authorization:
        authorizations[step.name] ??
        events.Authorization.apiKey(DEFAULT_HTTP_AUTH_HEADER, SecretValue.unsafePlainText(ir.name)),
      ...(secretHeaders(step) ? { headerParameters: secretHeaders(step)! } : {}),
    });
    connections.set(step.name, { step, connection });
  }
  return connections;
}
