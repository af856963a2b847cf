// The S3 job-file store (loads the AWS SDK's S3 client).
export { S3JobFileStore, type S3JobFileStoreOptions } from "./s3-store.ts";
