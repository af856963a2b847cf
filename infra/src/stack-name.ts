import type { WorkflowIr } from "@ferry/dsl-compiler";
import type { Environment } from "aws-cdk-lib";

/** `hello` → `ferry-hello`: a valid CloudFormation stack name for every valid workflow name. */
export function stackNameFor(workflow: string): string {
  return `ferry-${workflow}`;
}

/**
 * The stack environment: the region of the workflow's first aws site (else
 * the CLI's default region), the CLI's default account when it has one.
 * Neither needs a lookup, so `cdk synth` works without AWS credentials.
 */
export function defaultEnvironment(ir: WorkflowIr, env: NodeJS.ProcessEnv = process.env): Environment {
  const region =
    Object.values(ir.sites).find((s) => s.type === "aws" && s.region)?.region ?? env.CDK_DEFAULT_REGION;
  const account = env.CDK_DEFAULT_ACCOUNT;
  return { ...(region ? { region } : {}), ...(account ? { account } : {}) };
}
