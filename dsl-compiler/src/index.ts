// The compiler: spec schema, parser, IR, checks, ASL and manifest. Light entry points sit beside it:
// "@ferry/dsl-compiler/contract" (the step message and error table, no YAML or ASL code),
// "@ferry/dsl-compiler/interpreter" (runs compiled ASL locally on aws-local-stepfunctions) and
// "@ferry/dsl-compiler/testing" (generators for tests and benches).
export type {
  AslCatcher,
  AslChoice,
  AslDefinition,
  AslMap,
  AslParallel,
  AslPass,
  AslRetrier,
  AslState,
  AslSucceed,
  AslTask,
} from "./asl/asl-types.ts";
export { aslMakespan } from "./asl/makespan.ts";
export { baseSlots, SlotNamer, type SubstitutionSlots, slotRef } from "./asl/slots.ts";
export { DEFAULT_LIMITS, MIN_SPLIT_LIMIT, STEP_EVENTS, splitLimitProblem } from "./asl/split.ts";
export type { StateIndex, StateRole } from "./asl/state-index.ts";
export { checkPlacement } from "./check/placement.ts";
export { checkSites } from "./check/sites.ts";
export { type CompileOptions, type CompileResult, compileSpec } from "./compile.ts";
export type { CompiledStateMachine, CompiledWorkflow } from "./compiled.ts";
export {
  canonicalJson,
  type Manifest,
  type ManifestStep,
  manifestHash,
  sha256,
  siteManifest,
  stepHash,
} from "./contract/manifest.ts";
export {
  MAX_PAYLOAD_BYTES,
  parseStepMessage,
  type StepInput,
  type StepMessage,
  StepMessageSchema,
} from "./contract/step-message.ts";
export { FERRY_ERRORS, type TaskFailure, toTaskFailure } from "./contract/task-failure.ts";
export {
  type Diagnostic,
  type DiagnosticCode,
  formatDiagnostic,
  formatPath,
  hasErrors,
} from "./diagnostics/diagnostic.ts";
export { closest, didYouMean, editDistance } from "./diagnostics/did-you-mean.ts";
export { buildIr, executorFor } from "./ir/build-ir.ts";
export {
  ancestorSets,
  BitSet,
  criticalPath,
  type Deps,
  topologicalOrder,
  transitiveReduction,
} from "./ir/graph.ts";
export {
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RESOURCES,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_SECONDS,
  type Executor,
  type IrCache,
  type IrForeach,
  type IrItemReader,
  type IrNotify,
  type IrQueue,
  type IrRuntime,
  type IrSite,
  type IrStep,
  type IrTrigger,
  type ResolvedRetry,
  type WorkflowIr,
} from "./ir/ir.ts";
export { sitesReadBy } from "./ir/site-access.ts";
export { buildManifest } from "./manifest/manifest.ts";
export { pinImageDigests } from "./manifest/pin-images.ts";
export { awsNameKey, pascalCase } from "./names/aws-names.ts";
export { MAX_SPEC_BYTES, type ParsedSpec, parseSpecText } from "./parse/parse-spec.ts";
export { describeValue, schemaIssuesToDiagnostics } from "./parse/schema-issues.ts";
export { workflowJsonSchema } from "./schema/json-schema.ts";
export {
  AwsSiteSchema,
  CacheSchema,
  ContainerSchema,
  DefaultsSchema,
  EdgeSiteSchema,
  ForeachSchema,
  FunctionSchema,
  HttpSchema,
  MAX_RETRY_ATTEMPTS,
  MAX_TIMEOUT_SECONDS,
  type NotifySpec,
  ProcessSchema,
  ResourcesSchema,
  RetrySchema,
  type RetrySpec,
  RUNTIME_KINDS,
  type RuntimeKind,
  S3TriggerSchema,
  SITE_NAME_PATTERN,
  SiteSchema,
  type SiteSpec,
  STEP_NAME_PATTERN,
  StepSchema,
  type StepSpec,
  TRIGGER_KINDS,
  type TriggerKind,
  TriggerSchema,
  type TriggerSpec,
  VolumeSchema,
  WORKFLOW_NAME_PATTERN,
  type WorkflowSpec,
  WorkflowSpecSchema,
} from "./schema/spec.ts";
export { compileSpecFile } from "./spec-file/load-spec.ts";
export { findProjectRoot } from "./spec-file/project-root.ts";
export {
  applyInputTemplate,
  type InputTransformer,
  inputTransformer,
  isEventPath,
  keyMatches,
  type LocalEventContext,
  MAX_INPUT_PATHS,
  nextFire,
  objectCreatedEvent,
  parseSchedule,
  readEventPath,
  type Schedule,
  ScheduleError,
  s3EventPattern,
  scheduledEvent,
} from "./triggers/exports.ts";
export { type ValidateOptions, type ValidationResult, validateSpec } from "./validate.ts";
export { compileInputSchema, formatInputDiagnostic, validateWorkflowInput } from "./validate-input.ts";
