// The ASL interpreter behind `ferry run`: its own entry point, so importing the compiler never loads aws-local-stepfunctions.
export {
  DEFAULT_LOCAL_MAP_CONCURRENCY,
  EXCEED_TOLERATED_FAILURE,
  type MapRunOptions,
  type MapRunSink,
  type MapRunSummary,
  runMapRun,
} from "./map-run.ts";
export {
  type DistributedMapFiles,
  type HttpTaskParameters,
  type LocalExecution,
  type LocalStepHandlers,
  runCompiledWorkflow,
} from "./run-compiled.ts";
