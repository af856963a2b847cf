import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { compileYaml, synthStack } from "./testing.ts";

const spec = (cache: string) => `
version: "1.1"
name: cached
sites: { lab: { type: edge } }
steps:
  - { name: train, site: lab, process: { command: [cat] }${cache} }
`;

describe("FerryWorkflow step cache", () => {
  it("creates the cache index with a TTL and lets the caching site's agents read, write and claim entries", () => {
    const { template } = synthStack(compileYaml(spec(", cache: true")));
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      TimeToLiveSpecification: { AttributeName: "expiresAtEpoch", Enabled: true },
    });
    template.hasResourceProperties("AWS::IAM::ManagedPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: "StepCacheIndex",
            Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("StepCacheIndex"), "Arn"] },
          }),
        ]),
      },
    });
    // ferry deploy reads the table's name from this output into the agent configs (stepCache.table).
    template.hasOutput("WorkflowCacheTableName", {
      Value: { Ref: Match.stringLikeRegexp("StepCacheIndex") },
    });
  });

  it("creates no table when no step caches", () => {
    const { template } = synthStack(compileYaml(spec("")));
    expect(Object.keys(template.findResources("AWS::DynamoDB::Table"))).toEqual([]);
    expect(Object.keys(template.findOutputs("WorkflowCacheTableName"))).toEqual([]);
  });
});
