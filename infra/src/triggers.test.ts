import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { adaptTemplateForLocalStack, type CfnTemplate } from "./deploy/localstack-template.ts";
import { compileYaml, synthStack } from "./testing.ts";

const TRIGGERED = `
version: "1.1"
name: ingest
sites: { lab: { type: edge } }
steps: [{ name: load, site: lab, process: { command: [cat] } }]
triggers:
  - { name: nightly, schedule: "cron(0 2 * * ? *)", input: { date: "$.time", kind: nightly } }
  - { name: uploads, s3: { prefix: incoming/, suffix: .csv }, input: { key: "$.detail.object.key" } }
  - { name: partner, s3: { bucket: partner-drop, prefix: orders/ } }
  - { name: orders, event: { source: [shop.orders] }, enabled: false }
`;

const rootMachine = () => ({ Ref: Match.stringLikeRegexp("^WorkflowStateMachine[0-9A-F]{8}$") });

describe("FerryWorkflow triggers", () => {
  const { template, stack } = synthStack(compileYaml(TRIGGERED));
  const json = template.toJSON() as CfnTemplate;
  const rules = Object.values(json.Resources).filter((r) => r.Type === "AWS::Events::Rule");

  it("deploys a schedule as an EventBridge rule with a ScheduleExpression and the templated input", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 2 * * ? *)",
      State: "ENABLED",
      Targets: [
        {
          Id: "Workflow",
          Arn: rootMachine(),
          RoleArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^WorkflowTriggersRole"), "Arn"] },
          InputTransformer: {
            InputPathsMap: { p0: "$.time" },
            InputTemplate: '{"date":<p0>,"kind":"nightly"}',
          },
        },
      ],
    });
    template.resourceCountIs("AWS::Scheduler::Schedule", 0);
    expect(rules).toHaveLength(4);
  });

  it("matches Object Created events of the job-files bucket, which sends its events to EventBridge", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: {
          bucket: { name: [{ Ref: Match.stringLikeRegexp("^WorkflowJobFiles") }] },
          object: { key: [{ wildcard: "incoming/*.csv" }] },
        },
      },
      Targets: [
        Match.objectLike({
          InputTransformer: { InputPathsMap: { p0: "$.detail.object.key" }, InputTemplate: '{"key":<p0>}' },
        }),
      ],
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    // No custom resource (and so no Lambda) switches the notifications on.
    template.resourceCountIs("Custom::S3BucketNotifications", 0);
    template.resourceCountIs("AWS::Lambda::Function", 0);
  });

  it("names another bucket as it is, passes the whole event without an input:, and keeps a disabled rule", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({
        detail: { bucket: { name: ["partner-drop"] }, object: { key: [{ prefix: "orders/" }] } },
      }),
      Targets: [Match.objectLike({ InputTransformer: Match.absent(), Input: Match.absent() })],
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["shop.orders"] },
      State: "DISABLED",
    });
  });

  it("gives the rules one role, assumable by EventBridge of this account, allowed StartExecution on the root machine only", () => {
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: "sts:AssumeRole",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
          },
        ],
      },
    });
    const role = Object.keys(template.findResources("AWS::IAM::Role")).find((id) =>
      id.startsWith("WorkflowTriggersRole"),
    )!;
    const policies = Object.values(json.Resources).filter(
      (r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties?.Roles).includes(role),
    );
    expect(policies.map((p) => (p.Properties!.PolicyDocument as { Statement: unknown }).Statement)).toEqual([
      [
        {
          Sid: "StartWorkflowExecution",
          Action: "states:StartExecution",
          Effect: "Allow",
          Resource: { Ref: expect.stringMatching(/^WorkflowStateMachine[0-9A-F]{8}$/) },
        },
      ],
    ]);
    expect(stack.workflow.triggerRole).toBeDefined();
    expect(Object.keys(stack.workflow.triggerRules).sort()).toEqual([
      "nightly",
      "orders",
      "partner",
      "uploads",
    ]);
  });

  it("leaves the bucket's notifications alone and creates no rule or role without triggers", () => {
    const plain = synthStack(
      compileYaml(
        "name: p\nsites: { lab: { type: edge } }\nsteps: [{ name: a, site: lab, process: { command: [cat] } }]\n",
      ),
    ).template;
    plain.resourceCountIs("AWS::Events::Rule", 0);
    plain.hasResourceProperties("AWS::S3::Bucket", { NotificationConfiguration: Match.absent() });
    expect(Object.keys(plain.findResources("AWS::IAM::Role")).filter((id) => id.includes("Trigger"))).toEqual(
      [],
    );
  });
});

describe("a constant trigger input", () => {
  const compiled = compileYaml(`
version: "1.1"
name: constant
sites: { lab: { type: edge } }
steps: [{ name: a, site: lab, process: { command: [cat] } }]
triggers: [{ schedule: "rate(1 day)", input: { mode: full } }]
`);

  it("is a template without a paths map, given the event id on LocalStack", () => {
    const transformerIn = (t: CfnTemplate) =>
      (
        Object.values(t.Resources).find((r) => r.Type === "AWS::Events::Rule")!.Properties!.Targets as Array<{
          InputTransformer: unknown;
        }>
      )[0]!.InputTransformer;
    expect(transformerIn(synthStack(compiled).template.toJSON() as CfnTemplate)).toEqual({
      InputTemplate: '{"mode":"full"}',
    });
    const local = synthStack(compiled, { target: "localstack" }).template.toJSON() as CfnTemplate;
    expect(transformerIn(adaptTemplateForLocalStack(local, compiled.ir).template)).toEqual({
      InputPathsMap: { ferryEventId: "$.id" },
      InputTemplate: '{"id":<ferryEventId>,"mode":"full"}',
    });
  });
});

describe("trigger rules on LocalStack", () => {
  const compiled = compileYaml(TRIGGERED);
  const json = synthStack(compiled, { target: "localstack" }).template.toJSON() as CfnTemplate;

  it("adds the event id to each templated input, as LocalStack names executions after it, and says so", () => {
    const { template, notes } = adaptTemplateForLocalStack(json, compiled.ir);
    const transformers = Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::Events::Rule")
      .map((r) => (r.Properties!.Targets as Array<{ InputTransformer?: unknown }>)[0]!.InputTransformer)
      .filter(Boolean);
    expect(transformers).toEqual(
      expect.arrayContaining([
        {
          InputPathsMap: { p0: "$.time", ferryEventId: "$.id" },
          InputTemplate: '{"id":<ferryEventId>,"date":<p0>,"kind":"nightly"}',
        },
        {
          InputPathsMap: { p0: "$.detail.object.key", ferryEventId: "$.id" },
          InputTemplate: '{"id":<ferryEventId>,"key":<p0>}',
        },
      ]),
    );
    expect(notes.join("\n")).toMatch(/added "id" .* 2 trigger rules/);
  });

  it("keeps a template's own id and refuses a templated input that is not an object", () => {
    const own = compileYaml(
      TRIGGERED.replace('{ date: "$.time", kind: nightly }', '{ id: "$.id", kind: nightly }'),
    );
    const adapted = adaptTemplateForLocalStack(
      synthStack(own, { target: "localstack" }).template.toJSON() as CfnTemplate,
      own.ir,
    );
    expect(JSON.stringify(adapted.template)).toContain('{\\"id\\":<p0>,\\"kind\\":\\"nightly\\"}');
    const raw = compileYaml(TRIGGERED.replace('{ date: "$.time", kind: nightly }', '"$.detail"'));
    const template = synthStack(raw, { target: "localstack" }).template.toJSON() as CfnTemplate;
    expect(() => adaptTemplateForLocalStack(template, raw.ir)).toThrow(
      /not a JSON object; LocalStack 4.14 names/,
    );
  });
});
