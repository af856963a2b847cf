// The ASL interpreter behind `ferry run`: its own entry point, so importing the compiler never loads aws-local-stepfunctions.
export {
  type HttpTaskParameters,
  type LocalExecution,
  type LocalStepHandlers,
  runCompiledWorkflow,
} from "./run-compiled.ts";
