// The function host and step adapter shared by the Lambda adapter, `ferry functions serve` and the agent.
// The Lambda entry is "@ferry/functions/lambda"; test helpers are in "@ferry/functions/testing".
export {
  FunctionError,
  type FunctionErrorCode,
  InvalidHandlerError,
  InvalidOutputError,
  JobFilesError,
  NonRetriableError,
  StepTimeoutError,
} from "./errors.ts";
export {
  type BatchInvoker,
  FunctionHost,
  type FunctionHostOptions,
  type FunctionHostStats,
  type FunctionQueue,
  failedRecords,
  type InvokeOutcome,
  type ServedFunction,
} from "./serve/function-host.ts";
export {
  type InvocationReport,
  LambdaFunctionPool,
  type LambdaFunctionPoolOptions,
  type LambdaFunctionSpec,
  type LoadedModule,
} from "./serve/lambda-pool.ts";
export {
  checkOutput,
  type RunStepOptions,
  runFunctionStep,
  type StepContext,
  type StepHandler,
  type StepOutput,
  type StepResult,
} from "./step-adapter.ts";
