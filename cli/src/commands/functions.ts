import { parseArgs } from "node:util";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
import { splitSecretEnv } from "@ferry/dsl-compiler/contract";
import { FunctionHost, loadStepHandler, type ServedFunction } from "@ferry/functions";
import { SfnTaskClient } from "@ferry/functions/lambda";
import { AwsSecretResolver, secretCacheSeconds } from "@ferry/functions/secrets";
import { jsonLogger, recordAwsCalls } from "@ferry/functions/worker";
import {
  clientConfig,
  LocalStackTaskClient,
  lambdaTimeoutSeconds,
  readDeployment,
  SqsFunctionQueue,
} from "@ferry/infra";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import {
  AWS_FLAGS,
  AWS_FLAGS_USAGE,
  awsContextFor,
  loadWorkflow,
  reportDeployError,
} from "../support/cloud-commands.ts";

const USAGE = `Usage: ferry functions serve <spec.yaml> [options]

Serves a deployed workflow's function steps on aws sites locally, as Lambda
would: long-polls each step's queue and calls the same SQS adapter Ferry
deploys to Lambda (one message per invocation), deleting answered messages
and leaving failed ones to the queue's redrive policy. For LocalStack,
whose community edition runs no Lambda code. Runs until SIGINT/SIGTERM.

Options:
  --step NAME            serve only this step (repeatable; default: every function step on an aws site)
  --concurrency N        invocations at once per step (default 4)
  --batch-size N         messages per invocation, 1–10 (default 1, as deployed)
  --shutdown-grace-seconds N   let running invocations finish on shutdown (default 30)
${AWS_FLAGS_USAGE}

Example:
  ferry functions serve examples/hello/workflow.yaml --endpoint-url http://127.0.0.1:4566`;

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
        step: { type: "string", multiple: true },
        concurrency: { type: "string" },
        "batch-size": { type: "string" },
        "shutdown-grace-seconds": { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    const concurrency = intFlag(values.concurrency, "--concurrency", 4, 1, 256);
    const batchSize = intFlag(values["batch-size"], "--batch-size", 1, 1, 10);
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
    const sfn = recordAwsCalls(new SFNClient(config), { kind: "function", workflow: ir.name });
    // Secret env variables are read as the Lambda adapter reads them: at each invocation, cached in memory.
    const secrets = AwsSecretResolver.fromConfig(
      config,
      (client) => recordAwsCalls(client, { kind: "function", workflow: ir.name }),
      secretCacheSeconds(io.env),
    );
    let served: ServedFunction[];
    try {
      const deployment = await readDeployment(ir, context, { deadLetterQueues: false });
      served = [];
      for (const name of wanted) {
        const step = lambdaSteps.find((s) => s.name === name)!;
        if (step.runtime.kind !== "function" || !step.queue) continue;
        const env = splitSecretEnv(step.runtime.env);
        applyStepEnv(step.name, env.plain, io);
        served.push({
          workflow: ir.name,
          step: step.name,
          queue: new SqsFunctionQueue(sqs, deployment.queues[step.queue]!.url),
          handler: await loadStepHandler(loaded.projectRoot, step.runtime.file, step.runtime.exportName),
          ...(step.heartbeatSeconds !== undefined ? { heartbeatSeconds: step.heartbeatSeconds } : {}),
          timeoutSeconds: lambdaTimeoutSeconds(step),
          batchSize,
          ...(Object.keys(env.refs).length > 0 ? { secrets: env.refs } : {}),
        });
      }
    } catch (error) {
      sqs.destroy();
      sfn.destroy();
      secrets.destroy();
      return reportDeployError("functions serve", error, io);
    }
    const host = new FunctionHost({
      functions: served,
      tasks: context.endpoint ? new LocalStackTaskClient(new SfnTaskClient(sfn)) : new SfnTaskClient(sfn),
      logger: jsonLogger((line) => io.stdout(line), { workflow: ir.name }),
      concurrency,
      secrets,
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
    sfn.destroy();
    secrets.destroy();
    io.stderr(
      `stopped: ${host.stats.invocations} invocations, ${host.stats.deleted} messages answered and deleted, ${host.stats.returned} returned to the queue${finished ? "" : "; some invocations were still running"}\n`,
    );
    return 0;
  },
};

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

/** Lambda gives each function its step's `env`; one host process can only do that when the steps agree. */
function applyStepEnv(step: string, env: Record<string, string>, io: CliIo): void {
  for (const [key, value] of Object.entries(env)) {
    const current = io.env[key];
    if (current !== undefined && current !== value) {
      throw new UsageError(
        `step ${step} sets ${key}=${JSON.stringify(value)} but this process has ${key}=${JSON.stringify(current)}; serve the step on its own (--step ${step}) in a separate process`,
      );
    }
    io.env[key] = value;
  }
}
