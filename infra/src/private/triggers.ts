import { type IrTrigger, inputTransformer, s3EventPattern, type WorkflowIr } from "@ferry/dsl-compiler";
import { Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";

export interface TriggerResources {
  /** The one role every rule starts executions with: `states:StartExecution` on the root machine, nothing else. */
  role: iam.Role;
  /** Rules by trigger name. */
  rules: Map<string, events.CfnRule>;
}

/**
 * One EventBridge rule on the default bus per trigger, each targeting the
 * root state machine: `schedule` as a rule with a ScheduleExpression (which
 * LocalStack fires too, unlike EventBridge Scheduler), `s3` as an Object
 * Created pattern on the bucket (the job-files bucket, with EventBridge
 * notifications switched on, when the trigger names none), `event` as the
 * spec's pattern. A trigger's `input:` becomes the target's input
 * transformer; without one the execution input is the whole event.
 */
export function createTriggers(
  scope: Construct,
  ir: WorkflowIr,
  root: sfn.StateMachine,
  bucket: s3.Bucket,
): TriggerResources | undefined {
  const triggers = ir.triggers ?? [];
  if (triggers.length === 0) return undefined;
  const group = new Construct(scope, "Triggers");
  const stack = Stack.of(scope);
  const role = new iam.Role(group, "Role", {
    description: `Ferry ${ir.name}: EventBridge rules start executions of the workflow`,
    assumedBy: new iam.ServicePrincipal("events.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: "StartWorkflowExecution",
      actions: ["states:StartExecution"],
      resources: [root.stateMachineArn],
    }),
  );
  if (triggers.some((t) => t.source.kind === "s3" && t.source.bucket === undefined)) {
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
  const rules = new Map<string, events.CfnRule>();
  for (const trigger of triggers) {
    const rule = new events.CfnRule(group, trigger.name, {
      description: (trigger.description ?? `Ferry ${ir.name}: trigger ${trigger.name}`).slice(0, 512),
      state: trigger.enabled ? "ENABLED" : "DISABLED",
      ...ruleSource(trigger, bucket),
      targets: [
        {
          id: "Workflow",
          arn: root.stateMachineArn,
          roleArn: role.roleArn,
          ...(trigger.input === undefined ? {} : { inputTransformer: transformerOf(trigger.input) }),
        },
      ],
    });
    rules.set(trigger.name, rule);
  }
  return { role, rules };
}

function ruleSource(
  trigger: IrTrigger,
  bucket: s3.IBucket,
): Pick<events.CfnRuleProps, "scheduleExpression" | "eventPattern"> {
  const source = trigger.source;
  switch (source.kind) {
    case "schedule":
      return { scheduleExpression: source.expression };
    case "s3":
      return {
        eventPattern: s3EventPattern(source.bucket ?? bucket.bucketName, source.prefix, source.suffix),
      };
    case "event":
      return { eventPattern: source.pattern };
  }
}

/** The target's input transformer; a template without paths has no paths map at all. */
function transformerOf(input: unknown): events.CfnRule.InputTransformerProperty {
  const { inputPathsMap, inputTemplate } = inputTransformer(input);
  return Object.keys(inputPathsMap).length > 0 ? { inputPathsMap, inputTemplate } : { inputTemplate };
}
