// The SQS, Step Functions and S3 adapters of the edge agent (they load the AWS SDK).
// The job-file store lives with the other pieces every worker shares (the Lambda adapter stages job files too).

export { S3StepCache, type S3StepCacheOptions } from "@ferry/functions/cache/s3";
export {
  DownloadCache,
  type DownloadCacheOptions,
  type JobFileIdentity,
  type ObjectIdentity,
} from "@ferry/functions/job-files";
export { S3JobFileStore, type S3JobFileStoreOptions } from "@ferry/functions/job-files/s3";
export { type KmsPublicKeyOptions, kmsPublicKey } from "./kms-public-key.ts";
export { type HistoryCheckLimits, LocalStackCompletion } from "./localstack-completion.ts";
export { parseS3Url } from "./s3-url.ts";
export { SfnCompletion } from "./sfn-completion.ts";
export { SqsQueue, type SqsQueueOptions } from "./sqs-queue.ts";
