// Job files shared by every Ferry worker (edge agent, Lambda adapter): the store port, safe names,
// staging of inputs and outputs, and outputs over the payload limit. The S3 store is "@ferry/functions/job-files/s3".
export { containedPath, openNoFollow, readContained } from "./contained-files.ts";
export { DownloadCache, type DownloadCacheOptions, type ObjectIdentity } from "./download-cache.ts";
export { hashFile } from "./file-hash.ts";
export { packOutput, parseJson, resolveInputRefs } from "./large-output.ts";
export { safeRelative } from "./paths.ts";
export { type JobFileStep, stageInputs, uploadOutputs } from "./staging.ts";
export type { JobFileIdentity, JobFileStore, JobFilesRef } from "./store.ts";
