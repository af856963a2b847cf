import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SQSClient } from "@aws-sdk/client-sqs";
import { FunctionHost, LambdaFunctionPool, type ServedFunction } from "@ferry/functions";
import { LOCALSTACK_NUDGE_DELAYS_MS } from "@ferry/functions/lambda";
import { jsonLogger, RECORD_AWS_CALLS_ENV, recordAwsCalls } from "@ferry/functions/worker";
import {
  type AssemblyFunction,
  type AwsContext,
  clientConfig,
  readAssemblyFunctions,
  readDeployment,
  SqsFunctionQueue,
  type WorkflowDeployment,
} from "@ferry/infra/cloud";
import { type CliCommand, UsageError } from "../command.ts";
import {
  AWS_FLAGS,
  AWS_FLAGS_USAGE,
  awsContextFor,
  loadWorkflow,
  reportDeployError,
} from "../support/cloud-commands.ts";

const USAGE = `Usage: ferry functions serve <spec.yaml> [options]

Serves a deployed workflow's function steps on aws sites locally, as Lambda
would, for LocalStack, whose community edition runs no Lambda code. It runs
the very bundles the aws stack deploys (the Lambda assets of the cloud
assembly), each in its own Node process per execution environment, with the
function's MemorySize as heap limit and its Timeout enforced; it long-polls
each step's queue and invokes the bundle's handler with SQS events as the
event source mapping delivers them (its BatchSize and
MaximumBatchingWindowInSeconds), deleting the records not listed in
batchItemFailures. Runs until SIGINT/SIGTERM; then it receives no more, and
the messages its open long polls still bring (within 20 s) are made visible
again at once, for the next consumer.

Options:
  --assembly DIR         cloud assembly to serve from: a cdk.out folder or a
                         "ferry compile --out" folder (default: synthesize the
                         spec's aws stack into a temporary folder first)
  --step NAME            serve only this step (repeatable; default: every function step on an aws site)
  --concurrency N        execution environments per step (default 4)
  --shutdown-grace-seconds N   let running invocations finish on shutdown (default 30)
${AWS_FLAGS_USAGE}

Example:
  ferry compile examples/hello/workflow.yaml --out build/hello
  ferry functions serve examples/hello/workflow.yaml --assembly build/hello --endpoint-url http://127.0.0.1:4566`;

/** Variables of the parent's environment a served function also gets: where its credentials come from. */
const CREDENTIAL_ENV = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "HOME",
  "PATH",
  // Ferry's own run-time settings that are not part of the function's configuration.
  "FERRY_SECRET_CACHE_SECONDS",
  RECORD_AWS_CALLS_ENV,
];

/** `ferry functions serve`: a local stand-in for the Lambda functions of function steps. */
export const functionsCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== "serve")
      throw new UsageError(`unknown subcommand "${sub ?? ""}"; the one subcommand is serve`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...AWS_FLAGS,
        assembly: { type: "string" },
        step: { type: "string", multiple: true },
        concurrency: { type: "string" },
        "shutdown-grace-seconds": { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    const concurrency = intFlag(values.concurrency, "--concurrency", 4, 1, 256);
    const graceSeconds = intFlag(values["shutdown-grace-seconds"], "--shutdown-grace-seconds", 30, 0, 86_400);
    const loaded = await loadWorkflow(positionals[0]!, io);
    if (!loaded) return 1;
    const { ir } = loaded.compiled;
    const lambdaSteps = ir.steps.filter((s) => s.executor === "lambda");
    const wanted = values.step ?? lambdaSteps.map((s) => s.name);
    const unknown = wanted.filter((name) => !lambdaSteps.some((s) => s.name === name));
    if (unknown.length > 0) {
      throw new UsageError(
        `--step ${unknown.join(", ")}: not a function step on an aws site of ${ir.name} (those are: ${lambdaSteps.map((s) => s.name).join(", ") || "none"})`,
      );
    }
    if (wanted.length === 0) {
      io.stderr(`ferry functions serve: ${ir.name} has no function steps on aws sites; nothing to serve\n`);
      return 1;
    }
    const context = awsContextFor(values, io.env, ir);
    const config = clientConfig(context);
    // Recorded only when FERRY_RECORD_AWS_CALLS is set; the host attributes each call to its step.
    const sqs = recordAwsCalls(new SQSClient(config), { kind: "function", workflow: ir.name });
    const logger = jsonLogger((line) => io.stdout(line), { workflow: ir.name });
    let scratch: string | undefined;
    let served: ServedFunction[];
    const logLine = (line: string, stream: "stdout" | "stderr") =>
      stream === "stdout" ? io.stdout(`${line}\n`) : io.stderr(`${line}\n`);
    try {
      let assemblyDir = values.assembly ? resolve(io.cwd, values.assembly) : undefined;
      if (!assemblyDir) {
        scratch = await mkdtemp(join(tmpdir(), "ferry-serve-"));
        io.stderr(
          `synthesizing ${ir.name}'s aws stack to serve its Lambda bundles (pass --assembly to reuse one)\n`,
        );
        // The CDK loads only without --assembly.
        const { synthesizeWorkflow } = await import("@ferry/infra");
        assemblyDir = (
          await synthesizeWorkflow(loaded.compiled, {
            outDir: scratch,
            projectRoot: loaded.projectRoot,
            nag: false,
          })
        ).assemblyDir;
      }
      const assembly = readAssemblyFunctions(assemblyDir);
      const deployment = await readDeployment(ir, context, { deadLetterQueues: false });
      served = wanted.map((name) => {
        const fn = assembly.functions.find((f) => f.step === name && f.workflow === ir.name);
        if (!fn) {
          throw new UsageError(
            `${assembly.templatePath}: no Lambda function for step ${name} of ${ir.name} (it has: ${assembly.functions.map((f) => `${f.workflow}/${f.step}`).join(", ") || "none"}); compile the same spec into the assembly`,
          );
        }
        const step = ir.steps.find((s) => s.name === name)!;
        const pool = new LambdaFunctionPool(
          {
            name: `${ir.name}-${name}`,
            moduleFile: fn.moduleFile,
            exportName: fn.exportName,
            timeoutSeconds: fn.timeoutSeconds,
            memoryMiB: fn.memoryMiB,
            environment: functionEnvironment(fn, deployment, context, io.env),
          },
          {
            onLog: logLine,
            // Evidence of what runs: each file loaded from the asset folder, hashed as Node loaded it.
            onReady: ({ initMs, modules }) =>
              logger.info(
                { step: name, assetDir: fn.assetDir, initMs: Math.round(initMs), modules },
                "execution environment ready",
              ),
          },
        );
        return {
          workflow: ir.name,
          step: name,
          queue: new SqsFunctionQueue(sqs, deployment.queues[step.queue!]!.url),
          invoker: pool,
          batchSize: fn.batchSize,
          batchWindowSeconds: fn.batchWindowSeconds,
          reportBatchItemFailures: fn.reportBatchItemFailures,
        };
      });
      io.stderr(
        `serving from ${assembly.assemblyDir}: ${served
          .map((s) => {
            const fn = assembly.functions.find((f) => f.step === s.step)!;
            return `${s.step} (${fn.moduleFile.slice(assembly.assemblyDir.length + 1)}, ${fn.timeoutSeconds} s, ${fn.memoryMiB} MB, batch ${fn.batchSize}/${fn.batchWindowSeconds} s)`;
          })
          .join(", ")}\n`,
      );
    } catch (error) {
      sqs.destroy();
      if (scratch) await rm(scratch, { recursive: true, force: true });
      return reportDeployError("functions serve", error, io);
    }
    const host = new FunctionHost({
      functions: served,
      logger,
      concurrency,
    });
    host.start();
    io.stderr(
      `serving ${served.map((s) => s.step).join(", ")} of ${ir.name} (${context.region}${context.endpoint ? ` at ${context.endpoint}` : ""}); Ctrl-C to stop\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const finished = await host.stop(graceSeconds * 1000);
    sqs.destroy();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    io.stderr(
      `stopped: ${host.stats.invocations} invocations (${host.stats.functionErrors} function errors), ${host.stats.deleted} messages answered and deleted, ${host.stats.returned} returned to the queue, ${host.stats.handedBack} handed back unrun${finished ? "" : "; some invocations were still running"}\n`,
    );
    return 0;
  },
};

/**
 * The process environment of a served function: its template variables
 * (the job bucket's and cache table's `Ref`s resolved to the deployed ones), the region and
 * credentials Lambda would give it, the endpoint override, and on
 * LocalStack the success nudges its Step Functions needs.
 */
function functionEnvironment(
  fn: AssemblyFunction,
  deployment: WorkflowDeployment,
  context: AwsContext,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    if (typeof value === "string") variables[name] = value;
    else if (name === "FERRY_JOB_BUCKET") variables[name] = deployment.jobBucket;
    else if (name === "FERRY_CACHE_TABLE" && deployment.cacheTable) variables[name] = deployment.cacheTable;
    else {
      throw new UsageError(
        `step ${fn.step}: environment variable ${name} is ${JSON.stringify(value)} in the template, which functions serve cannot resolve; give the function a literal value`,
      );
    }
  }
  const inherited = Object.fromEntries(
    CREDENTIAL_ENV.flatMap((name) => (env[name] !== undefined ? [[name, env[name]!]] : [])),
  );
  return {
    ...inherited,
    ...(context.credentials
      ? {
          AWS_ACCESS_KEY_ID: context.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: context.credentials.secretAccessKey,
        }
      : {}),
    AWS_REGION: context.region,
    AWS_DEFAULT_REGION: context.region,
    LAMBDA_TASK_ROOT: fn.assetDir,
    ...(context.endpoint
      ? { AWS_ENDPOINT_URL: context.endpoint, FERRY_SUCCESS_NUDGES_MS: LOCALSTACK_NUDGE_DELAYS_MS.join(",") }
      : {}),
    ...variables,
  };
}

function intFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
