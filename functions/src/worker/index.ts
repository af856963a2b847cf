// Shared worker pieces (no AWS SDK): used by the edge agent, `ferry run`,
// `ferry functions serve` and the Lambda adapter.

export {
  type AttemptLogRecord,
  DEFAULT_LOG_CAP_BYTES,
  formatAttemptLog,
  uploadAttemptLog,
} from "./attempt-log.ts";
export {
  type AwsCallPrincipal,
  describeCall,
  queueArnOfUrl,
  RECORD_AWS_CALLS_ENV,
  type RecordedAwsCall,
  recordAwsCalls,
  withAwsCallContext,
} from "./aws-call-recorder.ts";
export { type BackoffOptions, backoffDelayMs, sleep } from "./backoff.ts";
export { CappedText } from "./capped-text.ts";
export { jsonLogger, type Logger, SILENT_LOGGER } from "./logger.ts";
export { executionNameOf, type MessageScopeOptions, messageScopeProblem } from "./message-scope.ts";
export { type PollOptions, pollQueue, type ReceivedBatch } from "./poll.ts";
export { Pulse, type PulseOptions } from "./pulse.ts";
export type { Queue, QueueMessage, ReceiveOptions } from "./queue.ts";
