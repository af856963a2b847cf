// The simulator: topology, discrete-event engine, calibration from run records, placement search and reports.
// Test fixtures and the vendored WfCommons workloads live in "@ferry/simulator/testing".
export {
  type DiagnosticSource,
  formatSimDiagnostic,
  hasSimErrors,
  locateDiagnostics,
  type SimDiagnostic,
  type SimulatorDiagnosticCode,
  simError,
  simWarning,
} from "./diagnostics.ts";
export { Prng, runSeed } from "./engine/prng.ts";
export { type RunOptions, simulateRun } from "./engine/run.ts";
export type {
  AttemptOutcome,
  AttemptTrace,
  CostBreakdown,
  FailureReason,
  RunResult,
  RunStatus,
} from "./engine/run-result.ts";
export {
  buildSimModel,
  EXEC_AGENT,
  EXEC_FARGATE,
  EXEC_HTTP,
  EXEC_LAMBDA,
  EXECUTOR_CODES,
  type ModelDevice,
  type ModelLink,
  type ModelSite,
  type ModelStep,
  type Placement,
  type SimModel,
} from "./engine/sim-model.ts";
export {
  DEFAULT_RUNS,
  DEFAULT_SEED,
  percentile,
  type SimulateOptions,
  simulate,
  summarize,
} from "./engine/simulate.ts";
export { SimulatorError, type SimulatorErrorCode } from "./errors.ts";
export {
  type ExecutionTimeline,
  type ExecutionTimelineStep,
  type FittedTerm,
  fitOrchestration,
  fitTerm,
  type OrchestrationFit,
  runRecordFromTimeline,
} from "./model/execution-timeline.ts";
export {
  calibrationFromRunRecord,
  parseRunRecord,
  type RunCalibration,
  type RunRecord,
  RunRecordSchema,
  RunRecordStepSchema,
} from "./model/run-record.ts";
export {
  type Calibration,
  DEFAULT_DURATION_SECONDS,
  resolveStepCosts,
  type StepCost,
} from "./model/step-costs.ts";
export { applyPlacement, lineDiff } from "./optimize/apply-placement.ts";
export {
  type Objective,
  type OptimizationResult,
  type OptimizeOptions,
  optimizePlacement,
  type PlacementScore,
} from "./optimize/optimize-placement.ts";
export { type StepFreedom, stepFreedoms } from "./optimize/placement-constraints.ts";
export { type PreparedSimulation, prepareSimulation, type SimulationInput } from "./prepare.ts";
export {
  type CriticalPathReport,
  estimateCriticalPath,
  expectedStepSeconds,
} from "./report/critical-path.ts";
export { describeLatency, formatExplain } from "./report/format-explain.ts";
export { formatOptimization } from "./report/format-optimization.ts";
export { formatReport, table } from "./report/format-report.ts";
export { formatBytes, formatPercent, formatSeconds, formatUsd } from "./report/format-units.ts";
export { ganttHtml } from "./report/gantt-html.ts";
export { escapeXml, type GanttOptions, ganttSvg } from "./report/gantt-svg.ts";
export type {
  BoundaryReport,
  SimulationReport,
  SiteReport,
  Spread,
  TransferReport,
} from "./report/simulation-report.ts";
export { checkWorkflowOnTopology } from "./topology/check-workflow.ts";
export {
  isRandom,
  type Latency,
  LatencySchema,
  type LatencySpec,
  meanLatency,
  resolveLatency,
} from "./topology/latency.ts";
export { parseTopology, type TopologyParseResult } from "./topology/parse-topology.ts";
export {
  BYTES_PER_GB,
  DEFAULT_FARGATE_MAX_TASKS,
  DEFAULT_FARGATE_SCALE_IN_SECONDS,
  DEFAULT_FARGATE_START,
  DEFAULT_LAMBDA_COLD_START,
  DEFAULT_LAMBDA_CONCURRENCY,
  DEFAULT_LAMBDA_KEEP_WARM_SECONDS,
  DEFAULT_PRICES,
  DEFAULT_SQS_RECEIVE,
  DEFAULT_STATE_TRANSITION,
  FARGATE_MIN_BILLED_SECONDS,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  type Prices,
} from "./topology/service-defaults.ts";
export {
  type AwsSite,
  DEFAULT_MTTR_SECONDS,
  type Device,
  type EdgeSite,
  type Topology,
  type TopologyLink,
  type TopologySite,
} from "./topology/topology.ts";
export {
  AwsTopologySiteSchema,
  DeviceSchema,
  type DeviceSpec,
  EdgeTopologySiteSchema,
  FailureSchema,
  FargateModelSchema,
  LambdaModelSchema,
  LinkSchema,
  type LinkSpec,
  OrchestrationSchema,
  PricesSchema,
  TopologySchema,
  TopologySiteSchema,
  type TopologySiteSpec,
  type TopologySpec,
} from "./topology/topology-schema.ts";
export {
  DEFAULT_IMPORT_SITE,
  type ImportOptions,
  type ImportResult,
  importWfCommons,
  sanitizeStepName,
  uniqueNames,
} from "./wfcommons/import-wfcommons.ts";
export { parseWfInstance, type WfInstance, WfInstanceSchema } from "./wfcommons/wfformat.ts";
