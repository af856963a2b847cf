import { join } from "node:path";
import type { CompiledWorkflow } from "@ferry/dsl-compiler";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { FerryTarget } from "./ferry-workflow.ts";
import { FerryWorkflowStack } from "./ferry-workflow-stack.ts";
import { defaultEnvironment } from "./stack-name.ts";

/**
 * Context that keeps stack traces out of the assembly's metadata (cx-api's
 * DISABLE_METADATA_STACK_TRACE and DISABLE_CREATION_STACK_TRACES): capturing one
 * per construct costs time, and they would name this machine's paths.
 */
export const NO_STACK_TRACES = {
  "aws:cdk:disable-stack-trace": true,
  "aws:cdk:disable-creation-stack-traces": true,
};

export interface SynthesizeOptions {
  /** Directory the cloud assembly is written to (created if missing). */
  outDir: string;
  /** Directory function handler paths are relative to. */
  projectRoot: string;
  /** @default "aws" */
  target?: FerryTarget;
  /**
   * Run cdk-nag's AwsSolutions checks; an unacknowledged finding fails synthesis.
   * @default true
   */
  nag?: boolean;
  /**
   * Run the CDK's built-in CloudFormation template validation (a WebAssembly
   * engine that loads every resource schema: seconds on each synthesis).
   * CloudFormation validates the template again when it is deployed.
   * @default true
   */
  validateTemplate?: boolean;
}

export interface SynthesizeResult {
  assemblyDir: string;
  stackName: string;
  /** The stack's CloudFormation template. */
  templatePath: string;
}

/**
 * Synthesizes one compiled workflow into a CDK cloud assembly, the same
 * stack `cdk synth -c spec=…` produces; `ferry compile --out` calls it.
 * Needs no AWS credentials.
 */
export async function synthesizeWorkflow(
  compiled: CompiledWorkflow,
  options: SynthesizeOptions,
): Promise<SynthesizeResult> {
  const app = new App({
    outdir: options.outDir,
    builtinCloudFormationValidation: options.validateTemplate ?? true,
    context: NO_STACK_TRACES,
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new FerryWorkflowStack(app, undefined, {
    compiled,
    projectRoot: options.projectRoot,
    env: defaultEnvironment(compiled.ir),
    ...(options.target ? { target: options.target } : {}),
  });
  const assembly = app.synth();
  return {
    assemblyDir: assembly.directory,
    stackName: stack.stackName,
    templatePath: join(assembly.directory, stack.templateFile),
  };
}
