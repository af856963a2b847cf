// The cloud store apart: importing it loads the DynamoDB and S3 clients.
export { S3StepCache, type S3StepCacheOptions } from "./s3-step-cache.ts";
