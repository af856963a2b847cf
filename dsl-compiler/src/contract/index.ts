// The step contract every runtime imports: `@ferry/dsl-compiler/contract`.
// Light on purpose: zod and Node built-ins only, no side effects on import.
export {
  type AttemptKeyParts,
  attemptKeyParts,
  batchId,
  cacheBlobKey,
  cacheFolder,
  cacheKey,
  executionPrefix,
  executionPrefixFormat,
  foreachResultsFolder,
  foreachResultsPattern,
  jobFileKey,
  jobFileKeyFormat,
  logFolder,
  logName,
  outputFolder,
  outputName,
  parseExecutionPrefix,
  parseJobFileKey,
  provenanceFolder,
  provenanceItemsName,
  provenanceName,
  type SiteKeyPatterns,
  sharedCachePattern,
  siteKeyPatterns,
} from "./bucket-keys.ts";
export {
  FOREACH_RESULTS_FIELD,
  type ForeachManifest,
  ForeachManifestSchema,
  type ForeachResultEntry,
  type ForeachResultsRef,
  ForeachResultsRefSchema,
  isForeachResultsRef,
} from "./foreach-results.ts";
export {
  canonicalJson,
  type Manifest,
  ManifestSchema,
  type ManifestStep,
  manifestHash,
  parseManifest,
  sha256,
  siteManifest,
  stepHash,
} from "./manifest.ts";
export {
  isSignedManifest,
  MANIFEST_KEY_SPEC,
  MANIFEST_SIGNING_ALGORITHM,
  type ManifestSignature,
  manifestSigningPayload,
  type SignedManifest,
  signedManifest,
  type VerifiedManifest,
  verifySignedManifest,
} from "./manifest-signature.ts";
export { isOutputRef, type OutputRef, OutputRefSchema } from "./output-ref.ts";
export {
  type ProvenanceFile,
  ProvenanceFileSchema,
  type ProvenanceRecord,
  ProvenanceRecordSchema,
} from "./provenance.ts";
export { unsafePathReason } from "./relative-path.ts";
export {
  heartbeatIntervalMs,
  isFinalAttempt,
  maxRetries,
  type RetryDelayOptions,
  retryDelaySeconds,
} from "./retry-rules.ts";
export {
  FUNCTION_SECRETS_ENV,
  isSecretValue,
  type MaybeSecret,
  type ParsedSecretRef,
  parseSecretRef,
  REDACTED,
  redactSecrets,
  redactSecretsDeep,
  SECRET_REF_FORMS,
  type SecretUse,
  type SecretValueRef,
  secretOverrideEnvName,
  secretResourceArn,
  secretUses,
  splitSecretEnv,
} from "./secrets.ts";
export {
  type CachedFile,
  type CacheEntry,
  CacheEntrySchema,
  type CacheOrigin,
  cacheDefinitionHash,
  checkCacheEntry,
  type StepCacheKeyParts,
  stepCacheKey,
} from "./step-cache.ts";
export {
  MAX_PAYLOAD_BYTES,
  parseStepMessage,
  START_OPTIONS_KEY,
  type StepInput,
  type StepMessage,
  StepMessageSchema,
  startExecutionInput,
  workflowInputOf,
} from "./step-message.ts";
export {
  FERRY_ERRORS,
  type FerryErrorName,
  isRetriable,
  NON_RETRIABLE_ERRORS,
  TASK_ERROR_RETRYABLE,
  type TaskFailure,
  toTaskFailure,
} from "./task-failure.ts";
export {
  FunctionCacheEnvSchema,
  type FunctionStepEnv,
  FunctionStepEnvSchema,
  formatFunctionStepEnv,
  formatWorkerEnv,
  functionStepCacheEnv,
  functionStepJobFilesEnv,
  parseWorkerEnv,
  type WorkerEnv,
  WorkerEnvSchema,
} from "./worker-env.ts";
