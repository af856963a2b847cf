import { compileSpec } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { DeployError } from "./deploy-error.ts";
import { adaptTemplateForLocalStack, type CfnTemplate, logicalIdsIn } from "./localstack-template.ts";

function irOf(yaml: string) {
  const { compiled, diagnostics } = compileSpec(yaml);
  if (!compiled) throw new Error(JSON.stringify(diagnostics));
  return compiled.ir;
}

const EDGE_ONLY = irOf(`
name: t
sites: { lab: { type: edge } }
steps:
  - { name: a, site: lab, process: { command: ["true"] } }
`);

const template: CfnTemplate = {
  Resources: {
    Logs: { Type: "AWS::Logs::LogGroup" },
    Machine: {
      Type: "AWS::StepFunctions::StateMachine",
      Properties: {
        DefinitionString: "{}",
        LoggingConfiguration: {
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": ["Logs", "Arn"] } } }],
        },
      },
      DependsOn: ["Logs"],
    },
    Failed: { Type: "AWS::CloudWatch::Alarm", Properties: { Dimensions: [{ Value: { Ref: "Machine" } }] } },
  },
  Outputs: { Arn: { Value: { Ref: "Machine" } }, AlarmName: { Value: { Ref: "Failed" } } },
};

describe("adaptTemplateForLocalStack", () => {
  it("leaves out alarms and state machine logging, with what referred to them, and says so", () => {
    const { template: adapted, notes } = adaptTemplateForLocalStack(template, EDGE_ONLY);
    expect(Object.keys(adapted.Resources)).toEqual(["Machine"]);
    expect(adapted.Resources.Machine!.Properties).toEqual({ DefinitionString: "{}" });
    expect(adapted.Resources.Machine!.DependsOn).toEqual([]);
    expect(Object.keys(adapted.Outputs ?? {})).toEqual(["Arn"]);
    expect(notes).toEqual([
      expect.stringMatching(/^left out 1 CloudWatch alarms/),
      expect.stringMatching(/^left out state machine logging/),
    ]);
  });

  it("does not change the template it is given", () => {
    const before = JSON.stringify(template);
    adaptTemplateForLocalStack(template, EDGE_ONLY);
    expect(JSON.stringify(template)).toBe(before);
  });

  it("refuses HTTP steps on aws sites, which LocalStack cannot run, naming them", () => {
    const ir = irOf(`
name: h
sites: { cloud: { type: aws, region: us-east-1 } }
steps:
  - { name: call, site: cloud, http: { method: GET, url: "https://example.com/x" } }
`);
    expect(() => adaptTemplateForLocalStack(template, ir)).toThrow(DeployError);
    expect(() => adaptTemplateForLocalStack(template, ir)).toThrow(
      /HTTP steps on aws sites \(call\).*Unknown service 'http'/,
    );
  });
});

describe("Distributed Maps on LocalStack", () => {
  const spec = (foreach: string) => `
version: "1.1"
name: t
sites: { lab: { type: edge } }
steps:
  - { name: make, site: lab, process: { command: ["true"] }, outputs: [rows.jsonl, rows.json] }
  - { name: each, depends: [make], site: lab, foreach: ${foreach}, process: { command: ["true"] } }
`;

  it("deploys a Distributed Map over JSON records without tolerance", () => {
    expect(() => adaptTemplateForLocalStack(template, irOf(spec("{ records: rows.json }")))).not.toThrow();
  });

  it("refuses ToleratedFailurePercentage and JSON lines, which LocalStack 4.14 cannot run, with a way out", () => {
    expect(() =>
      adaptTemplateForLocalStack(
        template,
        irOf(spec("{ records: rows.json, toleratedFailurePercentage: 5 }")),
      ),
    ).toThrow(
      /step each sets foreach\.toleratedFailurePercentage, which LocalStack 4\.14 cannot run.*ferry run/,
    );
    expect(() => adaptTemplateForLocalStack(template, irOf(spec("{ records: rows.jsonl }")))).toThrow(
      /reads JSON-lines records, which LocalStack 4\.14's ItemReader cannot/,
    );
  });

  it("refuses foreach.batch, whose ItemBatcher LocalStack 4.14's grammar lacks, naming the step and the way out", () => {
    expect(() =>
      adaptTemplateForLocalStack(template, irOf(spec("{ records: rows.json, batch: { maxItems: 50 } }"))),
    ).toThrow(
      /step each sets foreach\.batch, which compiles to an ItemBatcher .*LocalStack 4\.14.*ferry run/,
    );
  });
});

describe("logicalIdsIn", () => {
  it("finds Ref and Fn::GetAtt targets at any depth", () => {
    expect(
      logicalIdsIn({ a: [{ Ref: "X" }, { b: { "Fn::GetAtt": ["Y", "Arn"] } }], Ref: "AWS::Region" }),
    ).toEqual(["X", "Y", "AWS::Region"]);
  });
});
