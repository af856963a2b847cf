import { FunctionStepEnvSchema, WorkerEnvSchema } from "@ferry/dsl-compiler/contract";
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
    const containers = tasks[0]!.Properties.ContainerDefinitions as Array<{
      Name: string;
      Environment?: Array<{ Name: string; Value: unknown }>;
    }>;
    const container = containers.find((c) => c.Name === "Step")!;
    const env = Object.fromEntries(container.Environment!.map((e, i) => [e.Name, resolved(e.Value, i)]));
    // When the agent's schema parses it, strictly (no variable it would ignore)
    const parsed = WorkerEnvSchema.strict().safeParse(env);
    // Then every variable is one the agent reads, and the ones it needs are there
    expect(parsed.error?.issues ?? []).toEqual([]);
    // The task runs the step's own image; the agent runs its steps in it, one at a time.
    expect(parsed.data).toMatchObject({
      FERRY_SITE: "cloud",
      FERRY_RUNTIME: "in-container",
      FERRY_STEP_IMAGE: "busybox:1",
      FERRY_CONCURRENCY: 1,
      FERRY_WORK_DIR: "/ferry/work",
      FERRY_METRICS_PORT: 0,
    });
    expect(parsed.data!.FERRY_QUEUE_URLS).toHaveLength(1);
    expect(parsed.data!.FERRY_MANIFESTS).toHaveLength(1);
    // The stack's job bucket only: messages naming another are dead-lettered.
    expect(parsed.data!.FERRY_JOB_BUCKETS).toHaveLength(1);
  });
});

describe("a Fargate pool's task", () => {
  it("runs the step's own image with Ferry's agent, copied in by an init container, as its entry point", () => {
    // Given the synthesized task of the pool for image busybox:1
    const { template } = synthStack(compileYaml(MIXED_SPEC));
    const task = Object.values(template.findResources("AWS::ECS::TaskDefinition"))[0]!.Properties;
    const byName = Object.fromEntries(
      (task.ContainerDefinitions as Array<Record<string, unknown> & { Name: string }>).map((c) => [
        c.Name,
        c,
      ]),
    );
    // Then the agent container only fills the shared /ferry volume and exits
    expect(task.Volumes).toEqual([{ Name: "ferry-agent" }]);
    expect(byName.FerryAgent).toMatchObject({
      Essential: false,
      EntryPoint: ["/ferry/agent/lib/ld-linux-x86-64.so.2", "--version"],
      MountPoints: [{ SourceVolume: "ferry-agent", ContainerPath: "/ferry", ReadOnly: false }],
    });
    // And the step's container is the step's image, started by the shipped loader (no Node.js, no glibc needed)
    expect(byName.Step).toMatchObject({
      Image: "busybox:1",
      Essential: true,
      EntryPoint: [
        "/ferry/agent/lib/ld-linux-x86-64.so.2",
        "--library-path",
        "/ferry/agent/lib",
        "/ferry/agent/ferry-agent",
      ],
      MountPoints: [{ SourceVolume: "ferry-agent", ContainerPath: "/ferry", ReadOnly: false }],
      DependsOn: [{ ContainerName: "FerryAgent", Condition: "SUCCESS" }],
    });
    expect(byName.Step!.Command).toBeUndefined();
  });
});

describe("a function step's Lambda environment", () => {
  it("is the function step contract the adapter parses, with the step's job files", () => {
    // Given a cloud function that reads an edge step's job file and writes its own
    const { template } = synthStack(
      compileYaml(`
name: lambdaenv
sites:
  cloud: { type: aws, region: us-east-1 }
  lab: { type: edge }
steps:
  - { name: fetch, site: lab, process: { command: ["true"] }, outputs: ["raw, 1.csv"] }
  - name: crunch
    site: cloud
    depends: [fetch]
    heartbeatSeconds: 30
    function: { handler: "functions/examples/load.ts#handler" }
    inputs: ["raw, 1.csv"]
    outputs: [report.txt]
`),
    );
    const functions = Object.values(template.findResources("AWS::Lambda::Function")).filter(
      (f) => f.Properties.Environment?.Variables?.FERRY_STEP === "crunch",
    );
    expect(functions).toHaveLength(1);
    const variables = functions[0]!.Properties.Environment.Variables as Record<string, unknown>;
    // The job bucket is the stack's own, by reference.
    expect(variables.FERRY_JOB_BUCKET).toEqual({ Ref: expect.stringMatching(/JobFiles/) });
    const env = Object.fromEntries(Object.entries(variables).map(([k, v], i) => [k, resolved(v, i)]));
    // When the adapter's schema parses it, strictly
    const parsed = FunctionStepEnvSchema.strict().safeParse(env);
    // Then it names the step's site, and its inputs with the site that wrote them
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toMatchObject({
      FERRY_WORKFLOW: "lambdaenv",
      FERRY_STEP: "crunch",
      FERRY_HEARTBEAT_SECONDS: 30,
      FERRY_SITE: "cloud",
      FERRY_INPUTS: { "raw, 1.csv": "lab" },
      FERRY_OUTPUTS: ["report.txt"],
    });
  });
});
