// The SQS, Step Functions and S3 adapters of the edge agent (they load the AWS SDK).
export { DownloadCache, type DownloadCacheOptions, type ObjectIdentity } from "./download-cache.ts";
export { type KmsPublicKeyOptions, kmsPublicKey } from "./kms-public-key.ts";
export { type HistoryCheckLimits, LocalStackCompletion } from "./localstack-completion.ts";
export { parseS3Url, S3JobFileStore, type S3JobFileStoreOptions } from "./s3-job-files.ts";
export { S3StepCache, type S3StepCacheOptions } from "./s3-step-cache.ts";
export { SfnCompletion } from "./sfn-completion.ts";
export { SqsQueue, type SqsQueueOptions } from "./sqs-queue.ts";
