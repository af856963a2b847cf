// The runtime behind `ferry run`: the compiled machine on the ASL interpreter, one in-memory worker per
// site, run records and the live view. Its own entry point, so the agent never loads the interpreter.
export { InProcessFunctionRuntime } from "./in-process-function-runtime.ts";
export { cacheNote } from "./live-view.ts";
export {
  cappedValue,
  EVENT_VALUE_CAP_BYTES,
  RUN_EVENTS_FILE,
  type RunEvent,
  RunEventLog,
  readRunEvents,
} from "./run-events.ts";
export {
  cacheRoot,
  listRuns,
  newRunId,
  type RunRecord,
  type RunStatus,
  readRunRecord,
  runsRoot,
  type StepRecord,
  type StepStatus,
  writeRunRecord,
} from "./run-record.ts";
export { type RunResult, type RunWorkflowOptions, relativeToCwd, runWorkflow } from "./run-workflow.ts";
export { stopLocalRun } from "./stop-local-run.ts";
