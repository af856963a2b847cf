import { type CompiledWorkflow, slotRef } from "@ferry/dsl-compiler";
import { App } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { InfraError } from "./errors.ts";
import { FerryWorkflowStack } from "./ferry-workflow-stack.ts";
import { CHAIN_SPEC, compileYaml, PROJECT_ROOT, synthStack } from "./testing.ts";

/** The chain workflow split by hand into a root that runs one child, as the compiler does for huge workflows. */
function withChild(compiled: CompiledWorkflow): CompiledWorkflow {
  const slot = "ChildStateMachine_child_1";
  return {
    ...compiled,
    childStateMachines: [{ ...compiled.stateMachine, id: "child-1" }],
    stateMachine: {
      id: "root",
      definition: {
        StartAt: "run child-1",
        States: {
          "run child-1": {
            Type: "Task",
            Resource: "arn:aws:states:::states:startExecution.sync:2",
            Parameters: { StateMachineArn: slotRef(slot), "Input.$": "$" },
            End: true,
          },
        },
      },
      states: { "run child-1": { kind: "child", machine: "child-1" } },
    },
    substitutions: { ...compiled.substitutions, childStateMachines: { "child-1": slot } },
  };
}

describe("FerryWorkflow with child state machines", () => {
  const compiled = withChild(compileYaml(CHAIN_SPEC));
  const { stack, template } = synthStack(compiled);

  it("creates the child first and fills the parent's slot with the child's ARN", () => {
    const machines = template.findResources("AWS::StepFunctions::StateMachine");
    expect(Object.keys(machines)).toHaveLength(2);
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: Match.stringLikeRegexp("^chain-root-"),
      DefinitionSubstitutions: {
        ChildStateMachine_child_1: { Ref: Match.stringLikeRegexp("StateMachinechild1") },
      },
    });
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: Match.stringLikeRegexp("^chain-child-1-"),
      DefinitionSubstitutions: Match.objectLike({
        JobBucket: Match.anyValue(),
        QueueUrl_site_lab: Match.anyValue(),
      }),
    });
  });

  it("lets the parent start, watch and stop only the child's executions", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "states:StartExecution",
            Resource: { Ref: Match.stringLikeRegexp("StateMachinechild1") },
          }),
          Match.objectLike({
            Action: ["states:DescribeExecution", "states:StopExecution"],
            Resource: {
              "Fn::Join": [
                "",
                Match.arrayWith([Match.stringLikeRegexp(":execution:chain-child-1-[0-9a-f]{8}:\\*$")]),
              ],
            },
          }),
          Match.objectLike({
            Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            Resource: {
              "Fn::Join": [
                "",
                Match.arrayWith([
                  Match.stringLikeRegexp("rule/StepFunctionsGetEventsForStepFunctionsExecutionRule$"),
                ]),
              ],
            },
          }),
        ]),
      },
    });
  });

  it("leaves no unacknowledged cdk-nag finding", () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});

describe("FerryWorkflow errors", () => {
  const build = (compiled: CompiledWorkflow, projectRoot = PROJECT_ROOT) =>
    new FerryWorkflowStack(new App({ builtinCloudFormationValidation: false }), undefined, {
      compiled,
      projectRoot,
      env: { region: "eu-west-1" },
    });

  it("names the construct, the missing handler file and the fix", () => {
    const compiled = compileYaml(`
name: missing
sites: { cloud: { type: aws, region: eu-west-1 } }
steps:
  - { name: load, site: cloud, function: { handler: "functions/examples/nope.ts#handler" } }
`);
    const error = (() => {
      try {
        build(compiled);
      } catch (e) {
        return e;
      }
    })() as InfraError;
    expect(error).toBeInstanceOf(InfraError);
    expect(error.code).toBe("HANDLER_NOT_FOUND");
    expect(error.constructPath).toBe("ferry-missing/Workflow/Functions/load");
    expect(error.message).toContain('"functions/examples/nope.ts"');
    expect(error.message).toContain("fix the step's function.handler");
  });

  const withEnvValue = (bytes: number) =>
    compileYaml(`
name: bigenv
sites: { cloud: { type: aws, region: eu-west-1 } }
steps:
  - name: load
    site: cloud
    function: { handler: "functions/examples/load.ts#handler", env: { BLOB: "${"x".repeat(bytes)}" } }
`);

  it("refuses a function step whose Lambda environment is over 4 KB, naming the step, the variable and the fix", () => {
    const error = (() => {
      try {
        build(withEnvValue(4000));
      } catch (e) {
        return e;
      }
    })() as InfraError;
    expect(error).toBeInstanceOf(InfraError);
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.constructPath).toBe("ferry-bigenv/Workflow/Functions/load");
    expect(error.message).toMatch(
      /Lambda environment of step "load" would be \d+ bytes, over Lambda's 4096-byte limit/,
    );
    expect(error.message).toContain("BLOB (4000 bytes)");
    expect(error.message).toContain("into a job file or a secret");
  });

  it("accepts a function step whose Lambda environment fits, with the bucket name counted at its longest", () => {
    expect(() => build(withEnvValue(3600))).not.toThrow();
  });

  it("reports esbuild's message when the export does not exist", () => {
    const compiled = compileYaml(`
name: badexport
sites: { cloud: { type: aws, region: eu-west-1 } }
steps:
  - { name: load, site: cloud, function: { handler: "functions/examples/load.ts#nothere" } }
`);
    expect(() => build(compiled)).toThrow(
      /^ferry-badexport\/Workflow\/Functions\/load: esbuild could not bundle function handler "functions\/examples\/load.ts#nothere":\n.*No matching export in "functions\/examples\/load.ts" for import "nothere"/,
    );
  });

  it("refuses a definition slot the substitutions do not define", () => {
    const compiled = compileYaml(CHAIN_SPEC);
    const broken: CompiledWorkflow = {
      ...compiled,
      stateMachine: {
        ...compiled.stateMachine,
        definition: { ...compiled.stateMachine.definition, Comment: `uses ${slotRef("Mystery")}` },
      },
    };
    expect(() => build(broken)).toThrow(
      `ferry-chain/Workflow/StateMachine: the definition of state machine "root" uses ${slotRef("Mystery")}`,
    );
  });

  it("refuses an out-of-range prop with the value and the accepted range", () => {
    expect(() => synthStack(compileYaml(CHAIN_SPEC), { maxReceiveCount: 0 })).toThrow(
      "ferry-chain/Workflow: maxReceiveCount: must be an integer from 1 to 1000, got 0",
    );
  });
});
