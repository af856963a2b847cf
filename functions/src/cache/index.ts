export {
  type CacheOptions,
  type CacheState,
  type CacheStep,
  cacheStepOf,
  consultCache,
  type RunIdentity,
  releaseClaim,
  rememberAnswer,
} from "./consult.ts";
export { type AttemptFacts, type AttemptOutcome, provenanceRecord, writeProvenance } from "./provenance.ts";
export type { CacheClaim, CachedFile, CacheLookup, CacheScope, StepCache } from "./store.ts";
