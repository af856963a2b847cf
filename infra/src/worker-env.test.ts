import { WorkerEnvSchema } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { compileYaml, MIXED_SPEC, synthStack } from "./testing.ts";

/** CloudFormation values (Ref, Fn::GetAtt…) stand in as opaque strings; literal values stay as written. */
function resolved(value: unknown, n: number): string {
  return typeof value === "string" ? value : `token-${n}`;
}

describe("the Fargate worker's environment", () => {
  it("is exactly the worker environment contract the agent parses", () => {
    // Given the synthesized worker container of a workflow with a Fargate step
    const { template } = synthStack(compileYaml(MIXED_SPEC));
    const tasks = Object.values(template.findResources("AWS::ECS::TaskDefinition"));
    expect(tasks).toHaveLength(1);
    const container = tasks[0]!.Properties.ContainerDefinitions[0] as {
      Environment: Array<{ Name: string; Value: unknown }>;
    };
    const env = Object.fromEntries(container.Environment.map((e, i) => [e.Name, resolved(e.Value, i)]));
    // When the agent's schema parses it, strictly (no variable it would ignore)
    const parsed = WorkerEnvSchema.strict().safeParse(env);
    // Then every variable is one the agent reads, and the ones it needs are there
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toMatchObject({ FERRY_SITE: "cloud", FERRY_RUNTIME: "process" });
    expect(parsed.data!.FERRY_QUEUE_URLS).toHaveLength(1);
    expect(parsed.data!.FERRY_MANIFESTS).toHaveLength(1);
    // The stack's job bucket only: messages naming another are dead-lettered.
    expect(parsed.data!.FERRY_JOB_BUCKETS).toHaveLength(1);
  });
});
