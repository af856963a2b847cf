// The FerryWorkflow construct, its stack, and the deploy/execution helpers the `ferry` CLI drives.
// CDK test helpers live in "@ferry/infra/testing".

export * from "./cloud.ts";
export {
  ASSETS_BUCKET_PATTERN,
  type FileAsset,
  type SynthesizedStack,
  type SynthesizeStackOptions,
  synthesizeStack,
} from "./deploy/synthesize-stack.ts";
export {
  type FerryFargateOptions,
  FerryWorkflow,
  type FerryWorkflowProps,
} from "./ferry-workflow.ts";
export { FerryWorkflowStack, type FerryWorkflowStackProps } from "./ferry-workflow-stack.ts";
export { lambdaTimeoutSeconds } from "./private/lambda-sizing.ts";
export { type SynthesizeOptions, type SynthesizeResult, synthesizeWorkflow } from "./synth.ts";
