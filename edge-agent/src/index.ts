// The worker core and its runtimes. SQS, Step Functions and S3 adapters live in "@ferry/edge-agent/aws",
// so importing the worker core never loads the AWS SDK; the runtime behind `ferry run` lives in
// "@ferry/edge-agent/local-run", so the agent never loads the ASL interpreter; test helpers live in
// "@ferry/edge-agent/testing".

export {
  type AttemptFacts,
  type CacheClaim,
  type CacheLookup,
  type CacheScope,
  provenanceRecord,
  type StepCache,
} from "@ferry/functions/cache";
// Shared with the Lambda adapter; re-exported for the agent's users.
export {
  containedPath,
  type JobFileIdentity,
  type JobFileStore,
  type JobFilesRef,
  openNoFollow,
  packOutput,
  readContained,
  resolveInputRefs,
  safeRelative,
} from "@ferry/functions/job-files";
export {
  executionNameOf,
  type MessageScopeOptions,
  messageScopeProblem,
} from "@ferry/functions/worker";
export { Agent, type AgentOptions, createAgent } from "./agent.ts";
export { CappedText, LastLine, StreamCapture } from "./capture.ts";
export { type AgentConfigInput, AgentConfigSchema, type ResolvedAgentConfig } from "./config.ts";
export { EngineProxy, type EngineProxyOptions, PROXY_LABEL } from "./engine-proxy/engine-proxy.ts";
export {
  createProblem,
  type EngineProxyPolicy,
  type EngineRoute,
  routeOf,
} from "./engine-proxy/policy.ts";
export {
  AgentError,
  type AgentErrorCode,
  type AgentErrorOptions,
  isAgentError,
  messageOf,
} from "./errors.ts";
export {
  type AttemptFinished,
  type AttemptInfo,
  type AttemptOutcome,
  NO_METRICS,
  type WorkerHooks,
  type WorkerMetrics,
} from "./events.ts";
export {
  CallbackCompletion,
  type CallbackCompletionOptions,
  type CompletionRecord,
  RecordingCompletion,
} from "./in-memory/completions.ts";
export { type DeadLetter, InMemoryQueue, type InMemoryQueueOptions } from "./in-memory/in-memory-queue.ts";
export {
  formatIdentity,
  groupMembers,
  identityOf,
  isAlive,
  type ProcessIdentity,
  parseIdentity,
  procStat,
  selfIdentity,
} from "./instance.ts";
export { removeLeftJobDirs } from "./job-dirs.ts";
export { CONTAINER_JOB_DIR, ERROR_FILE, INPUT_FILE, OUTPUT_FILE } from "./job-paths.ts";
export { Lifecycle, type WorkerState } from "./lifecycle.ts";
export { AGENT_FLAGS, type LoadConfigOptions, loadAgentConfig } from "./load-config.ts";
export { LocalJobFileStore } from "./local-job-files.ts";
export { type LocalCacheListing, LocalStepCache, type LocalStepCacheOptions } from "./local-step-cache.ts";
export { loadManifestSources, loadManifests, type S3Reader } from "./manifest-sources.ts";
export {
  type ManifestLoad,
  type ManifestRefusal,
  ManifestStore,
  type ManifestStoreOptions,
  validateManifest,
} from "./manifest-store.ts";
export { ManifestTrust, type ManifestTrustOptions } from "./manifest-trust.ts";
export { PrometheusMetrics } from "./ops/metrics.ts";
export { OpsServer, type OpsServerOptions } from "./ops/ops-server.ts";
export {
  AGENT_STATE_DIR,
  claimWorkDir,
  type ReapedGroup,
  type StepGroupRecorder,
  StepGroups,
  type WorkDirClaim,
} from "./orphans.ts";
export { readStepError, readStepOutput } from "./output.ts";
export type { Completion, TokenCheck } from "./ports/completion.ts";
export { type RunnerContext, type RunningTask, runAttempt, type StopReason } from "./runner.ts";
export {
  type ContainerHardeningOptions,
  hardenedHostConfig,
  isRootUser,
  jobBinds,
  NOBODY,
} from "./runtimes/container-hardening.ts";
export {
  CONTAINER_LABEL,
  DockerRuntime,
  type DockerRuntimeOptions,
  INSTANCE_LABEL,
  OWNER_LABEL,
  type PullPolicy,
} from "./runtimes/docker.ts";
export { attachContainer } from "./runtimes/engine-attach.ts";
export { FunctionRuntime, type FunctionRuntimeOptions } from "./runtimes/function.ts";
export { HttpRuntime, type HttpRuntimeOptions } from "./runtimes/http.ts";
export { createPodmanRuntime, DEFAULT_PODMAN_SOCKET, hostUlimits } from "./runtimes/podman.ts";
export { DEFAULT_INHERITED_ENV, ProcessRuntime, type ProcessRuntimeOptions } from "./runtimes/process.ts";
export {
  contractEnv,
  MAX_OUTPUT_LINE_BYTES,
  type Runtime,
  type RuntimeRequest,
  type RuntimeResult,
} from "./runtimes/runtime.ts";
export { Slots } from "./slots.ts";
export { STEP_USER_CAPABILITIES, StepUser, type StepUserConfig } from "./step-user.ts";
export { checkToken, checkTokenByHeartbeat } from "./token-check.ts";
export {
  AGENT_VERSION,
  createWorker,
  type RuntimeSet,
  type StopOptions,
  Worker,
  type WorkerOptions,
} from "./worker.ts";
