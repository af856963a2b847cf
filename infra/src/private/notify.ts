import { rmSync } from "node:fs";
import type { WorkflowIr } from "@ferry/dsl-compiler";
import { parseSecretRef, secretResourceArn } from "@ferry/dsl-compiler/contract";
import { NOTIFY_SECRET_ENV, NOTIFY_STATUSES, NOTIFY_URL_ENV } from "@ferry/functions/notify";
import { Aws, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { bundleNotifyFunction, STEP_BUNDLE_HANDLER } from "./bundle-step.ts";
import { lambdaLogsPolicy } from "./grants.ts";

export type { NotifyMessageV1 } from "@ferry/functions/notify";
export { NOTIFY_STATUSES } from "@ferry/functions/notify";

export interface NotifyResources {
  rule: events.CfnRule;
  /** The topic, when the stack creates it (`notify: { sns: { create: true } }`). */
  topic?: sns.Topic;
  /** The topic's ARN, created or given; absent for an HTTP callback. */
  topicArn?: string;
  /** The function that signs and posts the HTTP callback (`notify: { http }`). */
  function?: lambda.Function;
}

/** The rule's pattern: the root machine's executions reaching a final status. */
export function notifyEventPattern(stateMachineArn: string): Record<string, unknown> {
  return {
    source: ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    detail: { stateMachineArn: [stateMachineArn], status: [...NOTIFY_STATUSES] },
  };
}

/** The target's input transformer: the event reduced to a `NotifyMessageV1`. */
export function notifyInputTransformer(workflow: string): events.CfnRule.InputTransformerProperty {
  return {
    inputPathsMap: {
      executionArn: "$.detail.executionArn",
      status: "$.detail.status",
      output: "$.detail.output",
      error: "$.detail.error",
      cause: "$.detail.cause",
      time: "$.time",
    },
    inputTemplate: `{"v":1,"workflow":${JSON.stringify(workflow)},"executionArn":<executionArn>,"status":<status>,"output":<output>,"error":<error>,"cause":<cause>,"time":<time>}`,
  };
}

/**
 * `notify:`: one EventBridge rule on the default bus matching the root
 * machine's "Step Functions Execution Status Change" events with a final
 * status, targeting the SNS topic through an input transformer. No state is
 * added to the ASL, so the compiled makespan and the golden definitions are
 * unchanged. A created topic's policy lets `events.amazonaws.com` publish
 * only on behalf of that rule (`aws:SourceArn`), and refuses publishing
 * without TLS; a given topic's policy is the owner's to extend the same way.
 */
export function createNotify(
  scope: Construct,
  ir: WorkflowIr,
  root: sfn.StateMachine,
): NotifyResources | undefined {
  const notify = ir.notify;
  if (!notify) return undefined;
  const group = new Construct(scope, "Notify");
  if (notify.http) return createHttpNotify(group, ir, root, notify.http);
  let topic: sns.Topic | undefined;
  let topicArn: string;
  if ("create" in notify.sns!) {
    topic = new sns.Topic(group, "Topic", { displayName: `Ferry ${ir.name} results`.slice(0, 100) });
    topicArn = topic.topicArn;
    Validations.of(topic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "the messages hold only an execution's ARN, status and output; an SSE topic would need a customer managed key whose policy lets EventBridge generate data keys",
    });
  } else topicArn = notify.sns!.topicArn;
  const rule = new events.CfnRule(group, "Rule", {
    description: `Ferry ${ir.name}: announce each finished execution`.slice(0, 512),
    state: "ENABLED",
    eventPattern: notifyEventPattern(root.stateMachineArn),
    targets: [{ id: "Topic", arn: topicArn, inputTransformer: notifyInputTransformer(ir.name) }],
  });
  if (topic) {
    new sns.CfnTopicPolicy(group, "TopicPolicy", {
      topics: [topic.topicArn],
      policyDocument: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "PublishFinishedExecutions",
            principals: [new iam.ServicePrincipal("events.amazonaws.com")],
            actions: ["sns:Publish"],
            resources: [topic.topicArn],
            conditions: { ArnEquals: { "aws:SourceArn": rule.attrArn } },
          }),
          new iam.PolicyStatement({
            sid: "TlsOnly",
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ["sns:Publish"],
            resources: [topic.topicArn],
            conditions: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ],
      }),
    });
  }
  return { rule, topicArn, ...(topic ? { topic } : {}) };
}

/**
 * `notify: { http }`. Step Functions cannot compute an HMAC, and an
 * EventBridge API destination only adds a fixed header from its connection
 * (a bearer secret, not a signature over the body, and no timestamp against
 * replays). So the rule invokes a small function of the stack instead,
 * Ferry's own code (`@ferry/functions/notify`): it reads the key from SSM or
 * Secrets Manager, signs `<t>.<body>` with HMAC-SHA256 and POSTs the message
 * with `Ferry-Signature: t=…,v1=…`. Its role may write its own log group and
 * read that one secret, nothing else; only this rule may invoke it. A failed
 * post throws, and EventBridge's asynchronous invocation retries it.
 */
function createHttpNotify(
  group: Construct,
  ir: WorkflowIr,
  root: sfn.StateMachine,
  http: { url: string; secretRef: string },
): NotifyResources {
  const parsed = parseSecretRef(http.secretRef);
  if (typeof parsed === "string") throw new Error(`notify.http.secret: ${parsed}`);
  const stack = Stack.of(group);
  const secretArn = secretResourceArn(parsed, {
    partition: Aws.PARTITION,
    region: stack.region,
    account: stack.account,
  });
  const logGroup = new logs.LogGroup(group, "Logs", {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(group, "FunctionRole", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Ferry ${ir.name}: signs and posts the notify callback`,
    inlinePolicies: {
      Logs: lambdaLogsPolicy(logGroup),
      ReadSigningKey: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "ReadNotifySigningKey",
            actions: [parsed.service === "ssm" ? "ssm:GetParameter" : "secretsmanager:GetSecretValue"],
            resources: [secretArn],
          }),
        ],
      }),
    },
  });
  const bundle = bundleNotifyFunction(group);
  const fn = new lambda.Function(group, "Function", {
    description: `Ferry ${ir.name}: signed notify callback`.slice(0, 256),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.X86_64,
    code: lambda.Code.fromAsset(bundle),
    handler: STEP_BUNDLE_HANDLER,
    role,
    timeout: Duration.seconds(30),
    memorySize: 256,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: { [NOTIFY_URL_ENV]: http.url, [NOTIFY_SECRET_ENV]: http.secretRef },
  });
  // CDK staged the bundle into the cloud assembly when the function took it.
  rmSync(bundle, { recursive: true, force: true });
  const rule = new events.CfnRule(group, "Rule", {
    description: `Ferry ${ir.name}: call back for each finished execution`.slice(0, 512),
    state: "ENABLED",
    eventPattern: notifyEventPattern(root.stateMachineArn),
    targets: [{ id: "Function", arn: fn.functionArn, inputTransformer: notifyInputTransformer(ir.name) }],
  });
  new lambda.CfnPermission(group, "InvokeFromRule", {
    action: "lambda:InvokeFunction",
    functionName: fn.functionArn,
    principal: "events.amazonaws.com",
    sourceArn: rule.attrArn,
  });
  return { rule, function: fn };
}
