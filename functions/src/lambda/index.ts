// The Lambda side of function steps: SQS event in, SendTask* out.
export {
  DEFAULT_TIMEOUT_MARGIN_MS,
  type LambdaStepEnv,
  type ResolvedLambdaConfig,
  resolveLambdaConfig,
} from "./config.ts";
export { createSqsHandler, type SqsHandlerOptions, type SqsStepHandler } from "./handler.ts";
export { type Heartbeat, type HeartbeatOptions, startHeartbeat } from "./heartbeat.ts";
export { LOCALSTACK_NUDGE_DELAYS_MS, LocalStackTaskClient } from "./localstack-task-client.ts";
export { type BatchDeps, processRecord, processSqsBatch, type RecordOutcome } from "./process-batch.ts";
export { SfnTaskClient } from "./sfn-task-client.ts";
export type { LambdaContext, SqsBatchResponse, SqsEvent, SqsRecord } from "./sqs-event.ts";
export { classifyTaskCallError, errorText, type TaskCallErrorKind, type TaskClient } from "./task-client.ts";
