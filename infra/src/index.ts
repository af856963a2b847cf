// The FerryWorkflow construct, its stack, and the deploy/execution helpers the `ferry` CLI drives.
// CDK test helpers live in "@ferry/infra/testing".

export { LOCALSTACK_NUDGE_DELAYS_MS, LocalStackTaskClient } from "@ferry/functions/lambda";
export { type AppOptions, resolveAppOptions } from "./app-options.ts";
export {
  type AssemblyFunction,
  type AssemblyFunctions,
  readAssemblyFunctions,
} from "./deploy/assembly-functions.ts";
export {
  type AwsContext,
  type AwsContextOptions,
  clientConfig,
  FALLBACK_REGION,
  regionOfArn,
  resolveAwsContext,
} from "./deploy/aws-context.ts";
export { DeployError, type DeployErrorCode } from "./deploy/deploy-error.ts";
export {
  callerAccount,
  type DeployWorkflowOptions,
  type DeployWorkflowResult,
  deployWorkflow,
  destroyWorkflow,
  ORIGIN_OUTPUT,
  ORIGIN_TAG,
  workflowOrigin,
} from "./deploy/deploy-workflow.ts";
export {
  type DeployedQueue,
  queueOutputKeys,
  readDeployment,
  readJobBucket,
  readStackOutputs,
  readStateMachineArn,
  type WorkflowDeployment,
} from "./deploy/deployment.ts";
export {
  type DryRunBaseline,
  diffTemplates,
  dryRunBaseline,
  formatDryRun,
  iamStatements,
  type ResourceChange,
} from "./deploy/dry-run.ts";
export {
  type DeployedWorkflowMachine,
  type ExecutionLog,
  listMachineExecutions,
  listWorkflowMachines,
  machineStateIndex,
  readExecutionLogs,
  readExecutionProvenance,
} from "./deploy/execution-browse.ts";
export {
  type ExecutionDescription,
  hasEnded,
  isActive,
  redriveRefusal,
  stopRefusal,
} from "./deploy/execution-control.ts";
export {
  buildExecutionReport,
  type ExecutionReport,
  type StepReport,
  type StepState,
} from "./deploy/execution-report.ts";
export {
  EXECUTION_RESULT_VERSION,
  type ExecutionResult,
  executionResult,
  type FailedStep,
  failedSteps,
} from "./deploy/execution-result.ts";
export {
  type ExecutionStatus,
  executionStatus,
  fetchHistory,
  type RedriveResult,
  redriveExecution,
  type StopOptions,
  startExecution,
  stopExecution,
  type WaitOptions,
  waitForExecution,
} from "./deploy/executions.ts";
export type { CfnTemplate } from "./deploy/localstack-template.ts";
export {
  changedManifestHashes,
  type SignedSiteManifest,
  signSiteManifests,
} from "./deploy/sign-manifests.ts";
export { SqsFunctionQueue } from "./deploy/sqs-function-queues.ts";
export { getStateIndex, type StoredStateIndex } from "./deploy/state-index-store.ts";
export {
  ASSETS_BUCKET_PATTERN,
  type FileAsset,
  type SynthesizedStack,
  type SynthesizeStackOptions,
  synthesizeStack,
} from "./deploy/synthesize-stack.ts";
export { InfraError, type InfraErrorCode } from "./errors.ts";
export {
  type FerryFargateOptions,
  type FerryTarget,
  FerryWorkflow,
  type FerryWorkflowProps,
} from "./ferry-workflow.ts";
export {
  defaultEnvironment,
  FerryWorkflowStack,
  type FerryWorkflowStackProps,
  stackNameFor,
} from "./ferry-workflow-stack.ts";
export { lambdaTimeoutSeconds } from "./private/lambda-sizing.ts";
export { type SynthesizeOptions, type SynthesizeResult, synthesizeWorkflow } from "./synth.ts";
