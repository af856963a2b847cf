import { type IrStep, sitesReadBy, type WorkflowIr } from "@ferry/dsl-compiler";
import {
  FUNCTION_SECRETS_ENV,
  formatFunctionStepEnv,
  functionStepCacheEnv,
  functionStepJobFilesEnv,
  type Manifest,
  splitSecretEnv,
} from "@ferry/dsl-compiler/contract";
import { Duration, Token, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { InfraError } from "../errors.ts";
import { STEP_BUNDLE_HANDLER, StepBundler } from "./bundle-step.ts";
import { cacheTableStatement } from "./cache-table.ts";
import {
  acknowledgeJobFiles,
  acknowledgeTaskResponse,
  jobFileStatements,
  lambdaLogsPolicy,
  secretReadStatements,
  taskResponseStatement,
} from "./grants.ts";
import {
  LAMBDA_ENV_MAX_BYTES,
  lambdaEnvironmentBytes,
  lambdaMemoryMiB,
  lambdaTimeoutSeconds,
} from "./lambda-sizing.ts";
import type { StepQueue } from "./step-queues.ts";

export interface LambdaStepsOptions {
  projectRoot: string;
  queues: Map<string, StepQueue>;
  bucket: s3.IBucket;
  stateMachineArns: string[];
  logRetention: logs.RetentionDays;
  batchSize: number;
  /** The compiled manifest: a function gets its step's definition hash and cache settings from it. */
  manifest: Manifest;
  /** The stack's step cache index, when a step caches. */
  cacheTable?: dynamodb.ITable;
}

/**
 * A Lambda function per `lambda` step, fed by the step's own queue through an
 * event source mapping that reports partial batch failures. Each function
 * gets its own role: consume its queue, answer task tokens, read and write
 * the workflow's job files, write to the shared log group, and, when the
 * step caches, use the cache index.
 */
export function createLambdaSteps(
  scope: Construct,
  ir: WorkflowIr,
  options: LambdaStepsOptions,
): Map<string, lambda.Function> {
  const steps = ir.steps.filter((s) => s.executor === "lambda");
  const functions = new Map<string, lambda.Function>();
  if (steps.length === 0) return functions;
  const root = new Construct(scope, "Functions");
  const logGroup = new logs.LogGroup(root, "Logs", { retention: options.logRetention });
  const bundler = new StepBundler(options.projectRoot);
  for (const step of steps) {
    const group = new Construct(root, step.name);
    functions.set(step.name, createStepFunction(group, ir, step, bundler, logGroup, options));
  }
  bundler.cleanup();
  return functions;
}

function createStepFunction(
  scope: Construct,
  ir: WorkflowIr,
  step: IrStep,
  bundler: StepBundler,
  logGroup: logs.ILogGroup,
  options: LambdaStepsOptions,
): lambda.Function {
  if (step.runtime.kind !== "function" || !step.queue) {
    throw new Error(`createStepFunction: step "${step.name}" is not a queue-fed function step`);
  }
  const secretEnv = splitSecretEnv(step.runtime.env);
  const role = new iam.Role(scope, "Role", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Ferry ${ir.name}/${step.name}: runs the step's function`,
    inlinePolicies: {
      Logs: lambdaLogsPolicy(logGroup),
    },
  });
  const environment = {
    // Secret env variables travel as references (FERRY_SECRETS); the adapter reads their values at run time.
    ...secretEnv.plain,
    ...(Object.keys(secretEnv.refs).length > 0
      ? { [FUNCTION_SECRETS_ENV]: JSON.stringify(secretEnv.refs) }
      : {}),
    ...formatFunctionStepEnv({
      FERRY_WORKFLOW: ir.name,
      FERRY_STEP: step.name,
      FERRY_HEARTBEAT_SECONDS: step.heartbeatSeconds,
      FERRY_JOB_BUCKET: options.bucket.bucketName,
      // The step's manifest entry for job files: what an edge agent reads from its trusted manifest.
      ...functionStepJobFilesEnv(step),
      ...functionStepCacheEnv(options.manifest.steps[step.name]!, options.cacheTable?.tableName),
    }),
  };
  const environmentBytes = lambdaEnvironmentBytes(environment);
  if (environmentBytes > LAMBDA_ENV_MAX_BYTES) {
    const largest = Object.entries(environment)
      .filter(([, value]) => !Token.isUnresolved(value))
      .sort(([, a], [, b]) => b.length - a.length)
      .slice(0, 3)
      .map(([name, value]) => `${name} (${Buffer.byteLength(value)} bytes)`);
    throw new InfraError(
      "INVALID_SPEC",
      scope,
      `the Lambda environment of step "${step.name}" would be ${environmentBytes} bytes, over Lambda's ${LAMBDA_ENV_MAX_BYTES}-byte limit; largest: ${largest.join(", ")}; move large env values into a job file or a secret (secret env values travel as short references), or use fewer or shorter job-file names`,
    );
  }
  const fn = new lambda.Function(scope, "Function", {
    description: `Ferry step ${ir.name}/${step.name} (${step.runtime.handler})`,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.X86_64,
    code: bundler.code(scope, { file: step.runtime.file, exportName: step.runtime.exportName }),
    handler: STEP_BUNDLE_HANDLER,
    role,
    timeout: Duration.seconds(lambdaTimeoutSeconds(step)),
    memorySize: lambdaMemoryMiB(step),
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment,
  });
  const queue = options.queues.get(step.queue)!;
  fn.addEventSource(
    new SqsEventSource(queue.queue, { batchSize: options.batchSize, reportBatchItemFailures: true }),
  );
  role.addToPrincipalPolicy(taskResponseStatement());
  acknowledgeTaskResponse(role);
  const access = { workflow: ir.name, site: step.site, readSites: sitesReadBy(ir, [step.name]) };
  for (const statement of jobFileStatements(options.bucket, access)) role.addToPrincipalPolicy(statement);
  acknowledgeJobFiles(role, options.bucket, access);
  // Cache entries' files are under the job-file grants (own segment written, every site's read).
  if (step.cache.enabled && options.cacheTable)
    role.addToPrincipalPolicy(cacheTableStatement(options.cacheTable));
  // Exactly the parameters and secrets this step's env references.
  for (const statement of secretReadStatements(scope, [step])) role.addToPrincipalPolicy(statement);
  Validations.of(role).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.",
  });
  return fn;
}
