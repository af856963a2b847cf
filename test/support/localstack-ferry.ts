/**
 * Helpers for end-to-end tests that deploy compiled workflows to LocalStack
 * with the real `ferry` CLI and run them with real agents (child processes)
 * and the local function host.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { type AwsContext, readDeployment, resolveAwsContext, type WorkflowDeployment } from "@ferry/infra";
import { awsClientConfig, localstackEndpoint, TEST_REGION } from "./env.ts";
import { eventually, FERRY_BIN, type FerryResult, ferry, tempProject } from "./ferry-cli.ts";

/** Environment for `ferry` child processes: LocalStack, its dummy credentials, no SDK Node-version banner. */
export function ferryEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { credentials } = awsClientConfig();
  return {
    AWS_ENDPOINT_URL: localstackEndpoint(),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    NODE_NO_WARNINGS: "1",
    ...extra,
  };
}

/** The AWS context the library functions use in tests. */
export function testAwsContext(region = TEST_REGION): AwsContext {
  return {
    ...resolveAwsContext({ endpointUrl: localstackEndpoint(), region }, {}),
    credentials: awsClientConfig().credentials,
  };
}

/** A suffix that keeps this run's workflows (stacks, state machines, parameters) apart from any other run's. */
export function runSuffix(): string {
  return `${Date.now().toString(36).slice(-4)}${Math.random().toString(36).slice(2, 5)}`;
}

/** A throwaway project with the examples; each spec's workflow renamed `<name>-<suffix>`. */
export function exampleProject(suffix: string): { dir: string; spec: (example: string) => string } {
  const dir = tempProject();
  const spec = (example: string) => {
    const path = join(dir, "examples", example, "workflow.yaml");
    const text = readFileSync(path, "utf8");
    if (!text.includes(`-${suffix}\n`)) {
      writeFileSync(path, text.replace(/^name: (\S+)$/m, `name: $1-${suffix}`));
    }
    return path;
  };
  return { dir, spec };
}

/** Writes a spec into the project and returns its path. */
export function writeSpec(dir: string, file: string, yaml: string): string {
  const path = join(dir, file);
  writeFileSync(path, yaml);
  return path;
}

export interface Deployed {
  spec: string;
  workflow: string;
  deployment: WorkflowDeployment;
  /** `ferry agent` config file per edge site. */
  agentConfigs: Record<string, string>;
  stdout: string;
}

/**
 * `ferry deploy --target localstack` (with `extraArgs`, e.g. `--split-limit`),
 * then the deployment read back through the library.
 */
export async function deploySpec(dir: string, spec: string, extraArgs: string[] = []): Promise<Deployed> {
  const { compiled } = await compileSpecFile(spec);
  if (!compiled) throw new Error(`${spec} does not compile`);
  const configs = join(dir, ".ferry", "agents", compiled.ir.name);
  const result = await ferry(
    ["deploy", spec, "--target", "localstack", "--agent-configs", configs, ...extraArgs],
    { cwd: dir, env: ferryEnv() },
  );
  if (result.code !== 0) {
    throw new Error(`ferry deploy ${spec} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  const region = Object.values(compiled.ir.sites).find((s) => s.type === "aws")?.region ?? TEST_REGION;
  const deployment = await readDeployment(compiled.ir, testAwsContext(region));
  const agentConfigs = Object.fromEntries(
    compiled.ir.queues
      .filter((q) => q.executor === "agent")
      .map((q) => [q.site, join(configs, `agent-${q.site}.json`)]),
  );
  return { spec, workflow: compiled.ir.name, deployment, agentConfigs, stdout: result.stdout };
}

/** A long-running `ferry` child process (agent, function host) with its output kept as it arrives. */
export class FerryProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<FerryResult>;

  constructor(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, [FERRY_BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...ferryEnv(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  /** Waits until the output contains `text` or passes the test (or the process exits, which fails). */
  async waitFor(
    text: string | RegExp | ((output: string) => boolean),
    what: string,
    timeoutMs = 60_000,
  ): Promise<void> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    await eventually(
      () => {
        const all = this.stdout + this.stderr;
        const found =
          typeof text === "string" ? all.includes(text) : text instanceof RegExp ? text.test(all) : text(all);
        if (found) return true;
        if (exited) throw new Error(`${what}: the process exited first\n${this.stdout}\n${this.stderr}`);
        return undefined;
      },
      what,
      timeoutMs,
    );
  }

  /** Sends a signal (by pid) and waits for the exit, bounded. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 45_000): Promise<FerryResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Log lines of the JSON logger, parsed. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch (error) {
          if (error instanceof SyntaxError) return [];
          throw error;
        }
      });
  }
}

export interface AgentStart {
  runtime?: "docker" | "process";
  concurrency?: number;
  graceSeconds?: number;
  /** Overrides the endpoint of the agent's config (e.g. a proxy). */
  endpointUrl?: string;
  extraArgs?: string[];
  /** Extra environment (`FERRY_*` settings without a flag). */
  env?: NodeJS.ProcessEnv;
}

/** Starts `ferry agent` on a deployed site's config and waits until it runs. */
export async function startAgent(
  dir: string,
  configFile: string,
  options: AgentStart = {},
): Promise<FerryProcess> {
  const workDir = join(dir, ".ferry", "work", `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`);
  // The agent ranks AWS_REGION above its config file; the stack's region must win here.
  const region =
    (JSON.parse(readFileSync(configFile, "utf8")) as { aws?: { region?: string } }).aws?.region ??
    TEST_REGION;
  const args = [
    "agent",
    "--config",
    configFile,
    "--runtime",
    options.runtime ?? "process",
    "--work-dir",
    workDir,
    "--project-dir",
    dir,
    "--metrics-port",
    "0",
    "--concurrency",
    String(options.concurrency ?? 2),
    "--shutdown-grace-seconds",
    String(options.graceSeconds ?? 30),
    "--region",
    region,
    ...(options.endpointUrl ? ["--endpoint-url", options.endpointUrl] : []),
    ...(options.extraArgs ?? []),
  ];
  const agent = new FerryProcess(args, {
    cwd: dir,
    env: { ...options.env, ...(options.endpointUrl ? { AWS_ENDPOINT_URL: options.endpointUrl } : {}) },
  });
  await agent.waitFor("agent running", `agent ${configFile} to start`);
  return agent;
}

/**
 * Starts `ferry functions serve` for a deployed spec and waits until it
 * polls. It serves the Lambda bundles of `assembly` (a `ferry compile --out`
 * folder or a `cdk.out`); without one it synthesizes the aws stack first.
 */
export async function startFunctionHost(
  dir: string,
  spec: string,
  env: NodeJS.ProcessEnv = {},
  assembly?: string,
): Promise<FerryProcess> {
  const host = new FerryProcess(
    [
      "functions",
      "serve",
      spec,
      "--shutdown-grace-seconds",
      "5",
      ...(assembly ? ["--assembly", assembly] : []),
    ],
    { cwd: dir, env },
  );
  // Synthesis (bundling each handler with esbuild) comes first when no assembly is given.
  await host.waitFor("serving function steps", `function host for ${spec}`, 240_000);
  return host;
}

/** `ferry start <spec> --wait`, returning the execution ARN (first stdout line) and the result. */
export async function startAndWait(
  dir: string,
  spec: string,
  options: { input?: unknown; timeoutSeconds?: number; args?: string[] } = {},
): Promise<FerryResult & { executionArn: string }> {
  const result = await ferry(
    [
      "start",
      spec,
      "--wait",
      "--timeout-seconds",
      String(options.timeoutSeconds ?? 120),
      ...(options.input === undefined ? [] : ["--input", JSON.stringify(options.input)]),
      ...(options.args ?? []),
    ],
    { cwd: dir, env: ferryEnv() },
  );
  return { ...result, executionArn: result.stdout.split("\n")[0]! };
}

/** Visible plus in-flight messages of a queue. */
export async function queueDepth(url: string, region = TEST_REGION): Promise<number> {
  const sqs = new SQSClient({ ...awsClientConfig(), region });
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  } finally {
    sqs.destroy();
  }
}

/** Every dead-letter queue of a deployment and its depth. */
export async function deadLetterDepths(d: WorkflowDeployment): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  for (const q of Object.values(d.queues)) {
    if (q.deadLetterUrl) depths[q.id] = await queueDepth(q.deadLetterUrl, d.region);
  }
  return depths;
}

/** Receives and deletes every visible message of a queue (a DLQ under test); returns their bodies. */
export async function takeBodies(url: string, region = TEST_REGION): Promise<string[]> {
  const sqs = new SQSClient({ ...awsClientConfig(), region });
  try {
    const bodies = new Map<string, string>();
    for (let round = 0; round < 10; round++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 30,
        }),
      );
      if (!out.Messages?.length) break;
      for (const m of out.Messages) bodies.set(m.MessageId!, m.Body ?? "");
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: out.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    return [...bodies.values()];
  } finally {
    sqs.destroy();
  }
}

/**
 * Empties a queue by receiving and deleting (PurgeQueue allows one call a
 * minute). Messages in flight elsewhere are left alone.
 */
export async function purge(url: string, region = TEST_REGION): Promise<number> {
  const sqs = new SQSClient({ ...awsClientConfig(), region });
  let deleted = 0;
  try {
    for (let round = 0; round < 50; round++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 60,
        }),
      );
      if (!out.Messages?.length) break;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: out.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      deleted += out.Messages.length;
    }
  } finally {
    sqs.destroy();
  }
  return deleted;
}

/** `ferry destroy`, bounded; failures are reported, not thrown, so cleanup never hides a test result. */
export async function destroySpec(dir: string, spec: string): Promise<FerryResult> {
  return ferry(["destroy", spec, "--timeout-seconds", "120"], { cwd: dir, env: ferryEnv() });
}
