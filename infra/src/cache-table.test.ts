import { cacheDefinitionHash } from "@ferry/dsl-compiler/contract";
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

describe("FerryWorkflow function steps and the step cache", () => {
  const functionSpec = `
version: "1.1"
name: cachedfn
sites: { cloud: { type: aws, region: us-east-1 } }
steps:
  - name: crunch
    site: cloud
    function: { handler: "functions/examples/load.ts#handler" }
    outputs: [report.txt]
    cache: { enabled: true, ttl: 1h, key: [v2] }
  - { name: plain, site: cloud, function: { handler: "functions/examples/load.ts#handler" } }
`;
  const compiled = compileYaml(functionSpec);
  const { template } = synthStack(compiled);
  const fn = (step: string) =>
    Object.entries(template.findResources("AWS::Lambda::Function")).find(
      ([, f]) => f.Properties.Environment?.Variables?.FERRY_STEP === step,
    )!;
  const statementsOf = (step: string) => {
    const role = (fn(step)[1].Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    return Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Sid?: string; Action: unknown }[]);
  };

  it("gives a caching function its manifest entry's definition hashes, cache settings and the table, in few bytes", () => {
    const variables = fn("crunch")[1].Properties.Environment.Variables as Record<string, unknown>;
    const step = compiled.manifest.steps.crunch!;
    expect(variables.FERRY_DEFINITION_HASH).toBe(step.hash);
    expect(JSON.parse(variables.FERRY_CACHE as string)).toEqual({
      hash: cacheDefinitionHash(step),
      ttl: 3600,
      key: ["v2"],
    });
    expect(variables.FERRY_CACHE_TABLE).toEqual({ Ref: expect.stringMatching(/StepCacheIndex/) });
    // Lambda allows 4 KB of environment (a deployed table name stands in as 64 characters).
    const bytes = Object.entries(variables)
      .map(([name, value]) => name.length + (typeof value === "string" ? value.length : 64))
      .reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(1024);
  });

  it("grants the cache index only to the function whose step caches", () => {
    const cached = statementsOf("crunch").find((s) => s.Sid === "StepCacheIndex");
    expect(cached?.Action).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]);
    expect(statementsOf("plain").find((s) => s.Sid === "StepCacheIndex")).toBeUndefined();
    const plain = fn("plain")[1].Properties.Environment.Variables as Record<string, unknown>;
    expect(plain.FERRY_CACHE).toBeUndefined();
    expect(plain.FERRY_CACHE_TABLE).toBeUndefined();
    expect(plain.FERRY_DEFINITION_HASH).toBe(compiled.manifest.steps.plain!.hash);
  });
});
