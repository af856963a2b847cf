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

  it("http: a rule invoking the stack's signing function, which may only log and read its one key", () => {
    const { template } = synthStack(
      compileYaml(
        spec(
          '{ http: { url: "https://hooks.example.com/ferry", secret: { secret: "ssm:/ferry/hook-key" } } }',
        ),
      ),
    );
    template.resourceCountIs("AWS::SNS::Topic", 0);
    const fns = Object.entries(template.findResources("AWS::Lambda::Function")).filter(([id]) =>
      id.startsWith("WorkflowNotifyFunction"),
    );
    expect(fns).toHaveLength(1);
    const [fnId, fn] = fns[0]!;
    expect(fn.Properties.Environment.Variables).toEqual({
      FERRY_NOTIFY_URL: "https://hooks.example.com/ferry",
      FERRY_NOTIFY_SECRET_REF: "ssm:/ferry/hook-key",
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({ detail: { stateMachineArn: [rootMachine()], status: FINAL } }),
      Targets: [
        Match.objectLike({
          Id: "Function",
          Arn: { "Fn::GetAtt": [fnId, "Arn"] },
          InputTransformer: Match.objectLike({
            InputTemplate: Match.stringLikeRegexp('^\\{"v":1,"workflow":"announced"'),
          }),
        }),
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      SourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^WorkflowNotifyRule"), "Arn"] },
    });
    const role = Object.entries(template.findResources("AWS::IAM::Role")).find(([id]) =>
      id.startsWith("WorkflowNotifyFunctionRole"),
    )![1];
    const statements = role.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    );
    expect(statements).toEqual([
      expect.objectContaining({ Action: ["logs:CreateLogStream", "logs:PutLogEvents"] }),
      expect.objectContaining({
        Sid: "ReadNotifySigningKey",
        Action: "ssm:GetParameter",
        Resource: {
          "Fn::Join": ["", expect.arrayContaining([expect.stringMatching(/:parameter\/ferry\/hook-key$/)])],
        },
      }),
    ]);
    expect(template.toJSON().Outputs.WorkflowNotifyTopicArn).toBeUndefined();
  });
});
