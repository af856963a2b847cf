import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CompiledWorkflow } from "@ferry/dsl-compiler";
import { App, CliCredentialsStackSynthesizer, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { FerryTarget } from "../ferry-workflow.ts";
import { FerryWorkflowStack } from "../ferry-workflow-stack.ts";
import { stateMachineName } from "../private/names.ts";
import { NO_STACK_TRACES } from "../synth.ts";

/**
 * The staging bucket `ferry deploy` uploads file assets (the trusted
 * manifest, large definitions) to. It is created on first deploy in each
 * account and region, so no `cdk bootstrap` is needed.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation pseudo-parameters, resolved by CDK and at upload time
export const ASSETS_BUCKET_PATTERN = "ferry-assets-${AWS::AccountId}-${AWS::Region}";

/** The ECR repository `ferry deploy` pushes image assets (the Fargate agent image) to; created on first use. */
export const IMAGE_ASSETS_REPOSITORY = "ferry-assets";

export interface SynthesizeStackOptions {
  outDir: string;
  projectRoot: string;
  target: FerryTarget;
  region: string;
  /**
   * cdk-nag's AwsSolutions checks.
   * @default true for target aws, false for localstack (nothing it checks changes what LocalStack runs)
   */
  nag?: boolean;
}

/** One file asset to upload before the stack deploys, from the cloud assembly's asset manifest. */
export interface FileAsset {
  id: string;
  /** Absolute path of the file in the cloud assembly. */
  path: string;
  packaging: "file" | "zip";
  /** Bucket name, possibly with `${AWS::AccountId}`/`${AWS::Partition}` placeholders. */
  bucketName: string;
  objectKey: string;
}

/** One Docker image asset to build and push before the stack deploys. */
export interface ImageAsset {
  id: string;
  /** Absolute path of the build context in the cloud assembly. */
  directory: string;
  /** Repository name, possibly with placeholders. */
  repositoryName: string;
  imageTag: string;
  platform?: string;
}

export interface SynthesizedStack {
  stackName: string;
  region: string;
  assemblyDir: string;
  templatePath: string;
  assets: FileAsset[];
  images: ImageAsset[];
  /** State machine names by machine id (`root`, `child-1`, …); fixed at synthesis. */
  machineNames: Record<string, string>;
}

/**
 * Synthesizes the workflow's stack for `ferry deploy`: the same
 * `FerryWorkflowStack` `cdk synth` produces, but with a synthesizer that
 * uses the caller's credentials and Ferry's own staging bucket instead of
 * the CDK bootstrap stack (no bootstrap version rule, no publishing roles).
 */
export function synthesizeStack(
  compiled: CompiledWorkflow,
  options: SynthesizeStackOptions,
): SynthesizedStack {
  const app = new App({ outdir: options.outDir, context: NO_STACK_TRACES });
  if (options.nag ?? options.target === "aws") Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new FerryWorkflowStack(app, undefined, {
    compiled,
    projectRoot: options.projectRoot,
    target: options.target,
    env: { region: options.region },
    synthesizer: new CliCredentialsStackSynthesizer({
      fileAssetsBucketName: ASSETS_BUCKET_PATTERN,
      imageAssetsRepositoryName: IMAGE_ASSETS_REPOSITORY,
    }),
  });
  const assembly = app.synth();
  const assemblyDir = assembly.directory;
  const manifest = JSON.parse(
    readFileSync(join(assemblyDir, `${stack.artifactId}.assets.json`), "utf8"),
  ) as AssetManifest;
  const templateFile = stack.templateFile;
  const assets = Object.entries(manifest.files ?? {}).flatMap(([id, file]) =>
    file.source.path === templateFile
      ? []
      : Object.values(file.destinations).map((dest) => ({
          id,
          path: join(assemblyDir, file.source.path),
          packaging: file.source.packaging ?? "file",
          bucketName: dest.bucketName,
          objectKey: dest.objectKey,
        })),
  );
  const images = Object.entries(manifest.dockerImages ?? {}).flatMap(([id, image]) =>
    Object.values(image.destinations).map((dest) => ({
      id,
      directory: join(assemblyDir, image.source.directory),
      repositoryName: dest.repositoryName,
      imageTag: dest.imageTag,
      ...(image.source.platform ? { platform: image.source.platform } : {}),
    })),
  );
  return {
    stackName: stack.stackName,
    region: options.region,
    assemblyDir,
    templatePath: join(assemblyDir, templateFile),
    assets,
    images,
    machineNames: Object.fromEntries(
      [...compiled.childStateMachines, compiled.stateMachine].map((m) => [
        m.id,
        stateMachineName(compiled.ir.name, m.id, stack.workflow.node.addr),
      ]),
    ),
  };
}

interface AssetManifest {
  dockerImages?: Record<
    string,
    {
      source: { directory: string; platform?: string };
      destinations: Record<string, { repositoryName: string; imageTag: string }>;
    }
  >;
  files?: Record<
    string,
    {
      source: { path: string; packaging?: "file" | "zip" };
      destinations: Record<string, { bucketName: string; objectKey: string }>;
    }
  >;
}
