import { type AgentOptions, createAgent } from "../agent.ts";
import { isAgentError } from "../errors.ts";
import { loadAgentConfig } from "../load-config.ts";

/** What the agent command needs from its host: the `ferry` CLI or the standalone `ferry-agent`. */
export interface AgentCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: the agent drains and the command returns 0. */
  signal: AbortSignal;
}

/** Usage text of the agent command, under the name it is invoked by (`ferry agent` or `ferry-agent`). */
export function agentUsage(command: string): string {
  const pad = " ".repeat(command.length);
  return `Usage: ${command} --config agent.yaml [options]

Long-polls the site's queues and runs steps with Docker, podman or plain
processes. Flags override FERRY_* variables, which override the file.

Options:
  --config FILE                 agent.yaml (YAML or JSON)           FERRY_CONFIG
  --site NAME                   site this agent serves              FERRY_SITE
  --queue-url URL               queue to poll (repeatable)          FERRY_QUEUE_URLS (comma-separated)
  --manifest PATH|s3://B/K      trusted manifest (repeatable)       FERRY_MANIFESTS (comma-separated)
  --manifest-signing-key ARN    KMS key manifests must be signed by FERRY_MANIFEST_SIGNING_KEY
                                (ferry deploy --agent-configs sets it)
  --manifest-hash HASH          pinned manifest hash (repeatable)   FERRY_MANIFEST_HASHES (comma-separated)
                                (manifests from S3 need a signing key or pinned hashes)
  --manifest-reload-interval-seconds N  least time between reloads (default 30)
                                                                    FERRY_MANIFEST_RELOAD_INTERVAL_SECONDS
  --job-bucket NAME             bucket job files may come from      FERRY_JOB_BUCKETS (comma-separated)
                                (repeatable; default: any, with a warning)
  --concurrency N               steps at once (default 2)           FERRY_CONCURRENCY
  --runtime docker|podman|process|in-container                      FERRY_RUNTIME
                                container engine (default docker); in-container runs
                                container steps as processes in the agent's own
                                container (Fargate: the step's image), which
                                FERRY_STEP_IMAGE names (variable only)
  --engine-socket PATH          engine API socket                   FERRY_ENGINE_SOCKET
  --pull-policy never|missing|always  (default missing)             FERRY_PULL_POLICY
  --gpus N                      GPUs steps may use (default 0)      FERRY_GPUS
  --work-dir DIR                scratch folder                      FERRY_WORK_DIR
  --project-dir DIR             base of relative paths in steps     FERRY_PROJECT_DIR
  --step-user NAME|UID          run process/function steps as it    (config steps.user; needs root or
                                CAP_SETUID CAP_SETGID CAP_CHOWN CAP_KILL)
  --shutdown-grace-seconds N    drain time on SIGTERM (default 30)  FERRY_SHUTDOWN_GRACE_SECONDS
  --metrics-host HOST           (default 127.0.0.1)                 FERRY_METRICS_HOST
  --metrics-port N              /healthz and /metrics, 0 = off      FERRY_METRICS_PORT
  --region REGION               AWS region                          FERRY_AWS_REGION (AWS_REGION is a default below the file)
  --endpoint-url URL            AWS endpoint (LocalStack)           AWS_ENDPOINT_URL
  --log-level LEVEL             fatal..trace, silent (default info) FERRY_LOG_LEVEL

Example:
  ${command} --config /etc/ferry/agent.yaml
  FERRY_QUEUE_URLS=http://127.0.0.1:4566/000000000000/ferry-site-lab ${command} --site lab \\
  ${pad}  --manifest ./cdk.out/manifest.json --runtime process --endpoint-url http://127.0.0.1:4566
`;
}

/** True for the errors `node:util` parseArgs throws on unknown or malformed flags. */
export function isArgumentError(error: unknown): error is Error {
  return (error as { code?: string } | null)?.code?.startsWith("ERR_PARSE_ARGS") === true;
}

/**
 * The agent command: loads the config, starts the agent, runs until
 * `io.signal` aborts, then drains. Returns 0 after a drain, 1 if it could not
 * start, 2 for an invalid config. Bad flags throw parseArgs' error (see
 * `isArgumentError`), which the host prints with its usage text.
 */
export async function runAgentCommand(
  command: string,
  argv: string[],
  io: AgentCommandIo,
  options: Omit<AgentOptions, "logger"> = {},
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout(agentUsage(command));
    return 0;
  }
  let agent: ReturnType<typeof createAgent>;
  try {
    const config = await loadAgentConfig({ argv, env: io.env, cwd: io.cwd });
    agent = createAgent(config, options);
  } catch (error) {
    if (isAgentError(error, "CONFIG_INVALID")) {
      io.stderr(`${command}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    await agent.start();
  } catch (error) {
    io.stderr(`${command}: could not start: ${(error as Error).message}\n`);
    await agent.stop().catch(() => undefined);
    return 1;
  }
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  agent.logger.info("signal received: draining");
  await agent.stop();
  return 0;
}
