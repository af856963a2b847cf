import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { adaptTemplateForLocalStack, type CfnTemplate } from "./deploy/localstack-template.ts";
import { compileYaml, synthStack } from "./testing.ts";

const spec = (notify: string) => `
version: "1.1"
name: announced
sites: { lab: { type: edge } }
steps: [{ name: load, site: lab, process: { command: [cat] } }]
notify: ${notify}
`;
const rootMachine = () => ({ Ref: Match.stringLikeRegexp("^WorkflowStateMachine[0-9A-F]{8}$") });
const FINAL = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

describe("FerryWorkflow notify", () => {
  it("creates a topic, a rule on the root machine's final statuses, and a policy for that rule only", () => {
    const { template } = synthStack(compileYaml(spec("{ sns: { create: true } }")));
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [rootMachine()], status: FINAL },
      },
      Targets: [
        {
          Id: "Topic",
          Arn: { Ref: Match.stringLikeRegexp("^WorkflowNotifyTopic") },
          InputTransformer: {
            InputPathsMap: Match.objectLike({
              executionArn: "$.detail.executionArn",
              status: "$.detail.status",
            }),
            InputTemplate: Match.stringLikeRegexp(
              '^\\{"v":1,"workflow":"announced","executionArn":<executionArn>',
            ),
          },
        },
      ],
    });
    const policies = template.findResources("AWS::SNS::TopicPolicy");
    expect(Object.keys(policies)).toHaveLength(1);
    const statements = Object.values(policies)[0]!.Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: "PublishFinishedExecutions",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sns:Publish",
        Resource: { Ref: expect.stringMatching(/^WorkflowNotifyTopic/) },
        Condition: {
          ArnEquals: {
            "aws:SourceArn": { "Fn::GetAtt": [expect.stringMatching(/^WorkflowNotifyRule/), "Arn"] },
          },
        },
      },
      expect.objectContaining({ Sid: "TlsOnly", Effect: "Deny", Action: "sns:Publish" }),
    ]);
    template.hasOutput("WorkflowNotifyTopicArn", {
      Value: { Ref: Match.stringLikeRegexp("^WorkflowNotifyTopic") },
    });
  });

  it("targets a given topic without creating one or changing its policy", () => {
    const arn = "arn:aws:sns:us-east-1:123456789012:runs";
    const { template } = synthStack(compileYaml(spec(`{ sns: "${arn}" }`)));
    template.resourceCountIs("AWS::SNS::Topic", 0);
    template.resourceCountIs("AWS::SNS::TopicPolicy", 0);
    template.hasResourceProperties("AWS::Events::Rule", {
      Targets: [Match.objectLike({ Id: "Topic", Arn: arn })],
    });
    template.hasOutput("WorkflowNotifyTopicArn", { Value: arn });
  });

  it("is left alone by the LocalStack adaptation (its target is no state machine)", () => {
    const compiled = compileYaml(spec("{ sns: { create: true } }"));
    const json = synthStack(compiled, { target: "localstack" }).template.toJSON() as CfnTemplate;
    const rule = (t: CfnTemplate) => Object.values(t.Resources).find((r) => r.Type === "AWS::Events::Rule");
    const adapted = adaptTemplateForLocalStack(json, compiled.ir).template;
    expect(rule(adapted)).toEqual(rule(json));
  });
});
