// What the `ferry` commands that talk to a deployed workflow need (status, start,
// stop, logs, destroy, the UI's cloud executions), without the CDK: importing
// this entry never loads aws-cdk-lib. "@ferry/infra" adds the constructs and synthesis.

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
  readStepCacheLocation,
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
  type TaskAttempt,
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
  rootWorkflowOf,
  type StopOptions,
  startExecution,
  stopExecution,
  type WaitOptions,
  waitForExecution,
  workflowOfExecution,
} from "./deploy/executions.ts";
export type { CfnTemplate } from "./deploy/localstack-template.ts";
export {
  changedManifestHashes,
  type SignedSiteManifest,
  signSiteManifests,
} from "./deploy/sign-manifests.ts";
export { SqsFunctionQueue } from "./deploy/sqs-function-queues.ts";
export { getStateIndex, type StoredStateIndex } from "./deploy/state-index-store.ts";
export { type CloudCacheListing, CloudStepCacheStore } from "./deploy/step-cache-store.ts";
export { InfraError, type InfraErrorCode } from "./errors.ts";
export type { FerryTarget } from "./ferry-workflow.ts";
export { defaultEnvironment, stackNameFor } from "./stack-name.ts";
