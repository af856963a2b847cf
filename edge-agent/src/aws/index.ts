export * from "./s3-job-files.ts";
export * from "./sfn-completion.ts";
export * from "./sqs-queue.ts";
