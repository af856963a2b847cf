import type { WorkflowIr } from "@ferry/dsl-compiler";
import { Validations } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";

/** The execution statuses that end a run: each one announced once. */
export const NOTIFY_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;

/**
 * The message published for every finished execution, version 1. `output`
 * is the execution's output as a JSON string (null unless SUCCEEDED),
 * `error` and `cause` the failure's (null or "" when there is none).
 */
export interface NotifyMessageV1 {
  v: 1;
  workflow: string;
  executionArn: string;
  status: (typeof NOTIFY_STATUSES)[number];
  output: string | null;
  error: string | null;
  cause: string | null;
  /** When the status changed (the event's time, ISO 8601). */
  time: string;
}

export interface NotifyResources {
  rule: events.CfnRule;
  /** The topic, when the stack creates it (`notify: { sns: { create: true } }`). */
  topic?: sns.Topic;
  /** The topic's ARN, created or given. */
  topicArn: string;
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
  let topic: sns.Topic | undefined;
  let topicArn: string;
  if ("create" in notify.sns) {
    topic = new sns.Topic(group, "Topic", { displayName: `Ferry ${ir.name} results`.slice(0, 100) });
    topicArn = topic.topicArn;
    Validations.of(topic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "the messages hold only an execution's ARN, status and output; an SSE topic would need a customer managed key whose policy lets EventBridge generate data keys",
    });
  } else topicArn = notify.sns.topicArn;
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
