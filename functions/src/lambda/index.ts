export * from "./config.ts";
export * from "./handler.ts";
export * from "./heartbeat.ts";
export * from "./process-batch.ts";
export * from "./sfn-task-client.ts";
export * from "./sqs-event.ts";
export * from "./task-client.ts";
