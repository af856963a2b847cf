import { fileURLToPath } from "node:url";
import { type CompiledWorkflow, compileSpec, formatDiagnostic, hasErrors } from "@ferry/dsl-compiler";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { FerryWorkflowProps } from "./ferry-workflow.ts";
import { FerryWorkflowStack } from "./ferry-workflow-stack.ts";

/** Test helpers; not exported from the package index. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function compileYaml(text: string): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(text);
  if (!compiled || hasErrors(diagnostics))
    throw new Error(diagnostics.map((d) => formatDiagnostic("spec.yaml", d)).join("\n"));
  return compiled;
}

/**
 * A workflow touching every kind of resource: an edge site, a cloud function
 * (Lambda), a cloud container (Fargate), an HTTP step, and a DAG that is not
 * series-parallel (so it needs the join table).
 */
export const MIXED_SPEC = `
name: mixed
sites:
  cloud: { type: aws, region: eu-west-1 }
  lab: { type: edge }
  plant: { type: edge }
steps:
  - { name: a, site: lab, process: { command: ["true"] } }
  - { name: b, site: lab, process: { command: ["true"] } }
  - { name: p, site: plant, process: { command: ["true"] } }
  - { name: c, site: cloud, depends: [a, b], function: { handler: "functions/examples/load.ts#handler" }, timeoutSeconds: 120 }
  - { name: d, site: cloud, depends: [b, p], container: { image: "busybox:1", command: ["sh", "-c", "cat"] }, resources: { cpu: 2, memoryMiB: 3000 } }
  - { name: e, site: cloud, depends: [d], http: { method: POST, url: "https://hooks.example.com/ferry" } }
`;

export const CHAIN_SPEC = `
name: chain
sites:
  lab: { type: edge }
steps:
  - { name: one, site: lab, process: { command: ["true"] } }
  - { name: two, site: lab, depends: [one], process: { command: ["true"] } }
`;

export function synthStack(
  compiled: CompiledWorkflow,
  props: Partial<FerryWorkflowProps> = {},
): { app: App; stack: FerryWorkflowStack; template: Template } {
  // CDK's own CloudFormation validation is covered by synth.test.ts; skipping it here keeps these tests fast.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new FerryWorkflowStack(app, undefined, {
    compiled,
    projectRoot: PROJECT_ROOT,
    env: { account: "123456789012", region: "eu-west-1" },
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}
