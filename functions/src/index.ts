// The function host and step adapter shared by the Lambda adapter, `ferry functions serve` and the agent.
// The Lambda entry is "@ferry/functions/lambda"; test helpers are in "@ferry/functions/testing".
export {
  FunctionError,
  type FunctionErrorCode,
  InvalidHandlerError,
  InvalidOutputError,
  NonRetriableError,
  StepTimeoutError,
} from "./errors.ts";
export {
  FunctionHost,
  type FunctionHostOptions,
  type FunctionHostStats,
  type FunctionQueue,
  type ServedFunction,
} from "./serve/function-host.ts";
export { loadStepHandler } from "./serve/load-handler.ts";
export {
  checkOutput,
  type RunStepOptions,
  runFunctionStep,
  type StepContext,
  type StepHandler,
  type StepOutput,
  type StepResult,
} from "./step-adapter.ts";
