import { SFNClient } from "@aws-sdk/client-sfn";
import { AwsSecretResolver, type SecretResolver, secretCacheSeconds } from "../secrets/resolver.ts";
import { recordAwsCalls } from "../worker/aws-call-recorder.ts";
import { jsonLogger, type Logger } from "../worker/logger.ts";
import { type LambdaStepEnv, resolveLambdaConfig } from "./config.ts";
import { processSqsBatch } from "./process-batch.ts";
import { SfnTaskClient } from "./sfn-task-client.ts";
import type { LambdaContext, SqsBatchResponse, SqsEvent } from "./sqs-event.ts";
import type { TaskClient } from "./task-client.ts";

export interface SqsHandlerOptions {
  /** @default process.env */
  env?: LambdaStepEnv;
  /** @default Step Functions through the AWS SDK, with the function's role */
  tasks?: TaskClient;
  /** @default JSON lines on stdout */
  logger?: Logger;
  /** @default SSM and Secrets Manager with the function's role, when the step has secrets */
  secrets?: SecretResolver;
}

export type SqsStepHandler = (event: SqsEvent, context: LambdaContext) => Promise<SqsBatchResponse>;

/**
 * The Lambda handler of a function step: Ferry's bundle calls this at cold
 * start with the user's export, and Lambda calls the result for each SQS batch.
 * The event source mapping must enable `ReportBatchItemFailures`.
 *
 * @example
 * import { handler as load } from "./functions/examples/load.ts";
 * export const handler = createSqsHandler(load);
 */
export function createSqsHandler(userHandler: unknown, options: SqsHandlerOptions = {}): SqsStepHandler {
  const config = resolveLambdaConfig(options.env ?? (process.env as LambdaStepEnv));
  const logger =
    options.logger ?? jsonLogger((line) => process.stdout.write(line), { workflow: config.workflow });
  const tasks =
    options.tasks ??
    new SfnTaskClient(
      recordAwsCalls(new SFNClient({}), { kind: "function", workflow: config.workflow, step: config.step }),
    );
  const who = { kind: "function", workflow: config.workflow, step: config.step } as const;
  const secrets =
    options.secrets ??
    (Object.keys(config.secrets ?? {}).length > 0
      ? AwsSecretResolver.fromConfig({}, (client) => recordAwsCalls(client, who), secretCacheSeconds())
      : undefined);
  return (event, context) =>
    processSqsBatch(event, context, {
      handler: userHandler,
      tasks,
      logger,
      config,
      ...(secrets ? { secrets } : {}),
    });
}
