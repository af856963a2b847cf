import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import packageJson from "../../package.json" with { type: "json" };
import { S3StepCache } from "../cache/s3-step-cache.ts";
import type { StepCache } from "../cache/store.ts";
import { S3JobFileStore } from "../job-files/s3-store.ts";
import type { JobFileStore } from "../job-files/store.ts";
import { AwsSecretResolver, type SecretResolver, secretCacheSeconds } from "../secrets/resolver.ts";
import { recordAwsCalls } from "../worker/aws-call-recorder.ts";
import { jsonLogger, type Logger } from "../worker/logger.ts";
import { type LambdaStepEnv, resolveLambdaConfig } from "./config.ts";
import { LocalStackTaskClient } from "./localstack-task-client.ts";
import { processSqsBatch } from "./process-batch.ts";
import { SfnTaskClient } from "./sfn-task-client.ts";
import type { LambdaContext, SqsBatchResponse, SqsEvent } from "./sqs-event.ts";
import type { TaskClient } from "./task-client.ts";

/** The adapter's version, in provenance records (`agent`). */
const FUNCTIONS_VERSION: string = packageJson.version;

export interface SqsHandlerOptions {
  /** @default process.env */
  env?: LambdaStepEnv;
  /** @default Step Functions through the AWS SDK, with the function's role */
  tasks?: TaskClient;
  /** @default JSON lines on stdout */
  logger?: Logger;
  /** @default SSM and Secrets Manager with the function's role, when the step has secrets */
  secrets?: SecretResolver;
  /** @default the job bucket through the AWS SDK, with the function's role */
  jobFiles?: JobFileStore;
  /**
   * The bundle file this handler runs (Ferry's bundle passes its own
   * `import.meta.url`): its sha256 keys the step cache, so a code change
   * is a miss. Without it a caching step does not cache.
   */
  codeFile?: string | URL;
  /** @default the stack's index table and the job bucket, when the step caches (`FERRY_CACHE`) */
  cache?: StepCache;
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
  const who = { kind: "function", workflow: config.workflow, step: config.step } as const;
  const sfnTasks = options.tasks ?? new SfnTaskClient(recordAwsCalls(new SFNClient({}), who));
  const tasks =
    config.successNudgesMs.length > 0 ? new LocalStackTaskClient(sfnTasks, config.successNudgesMs) : sfnTasks;
  // Path-style only with an endpoint override (LocalStack): a bucket name is no host name there.
  const s3 = recordAwsCalls(new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }), who);
  const jobFiles = options.jobFiles ?? new S3JobFileStore({ client: s3 });
  const secrets =
    options.secrets ??
    (Object.keys(config.secrets ?? {}).length > 0
      ? AwsSecretResolver.fromConfig({}, (client) => recordAwsCalls(client, who), secretCacheSeconds())
      : undefined);
  // Hashed once per cold start: the code cannot change under a running environment.
  const codeHash =
    config.cache && options.codeFile
      ? createHash("sha256").update(readFileSync(options.codeFile)).digest("hex")
      : undefined;
  const cache =
    options.cache ??
    (config.cache && config.jobFiles.bucket && config.jobFiles.site
      ? new S3StepCache({
          s3,
          dynamodb: recordAwsCalls(new DynamoDBClient({}), who),
          bucket: config.jobFiles.bucket,
          table: config.cache.table,
          site: config.jobFiles.site,
        })
      : undefined);
  if (config.cache && !codeHash)
    logger.warn(
      { step: config.step },
      "the step caches but its bundle could not be identified; it runs uncached",
    );
  return (event, context) =>
    processSqsBatch(event, context, {
      handler: userHandler,
      tasks,
      logger,
      config,
      jobFiles,
      ...(secrets ? { secrets } : {}),
      ...(cache ? { cache } : {}),
      ...(codeHash ? { codeHash } : {}),
      identity: {
        device: `lambda:${process.env.AWS_LAMBDA_FUNCTION_NAME ?? `${config.workflow}/${config.step}`}`,
        agent: `ferry-functions/${FUNCTIONS_VERSION}`,
      },
    });
}
