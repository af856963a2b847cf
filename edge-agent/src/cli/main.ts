import { type ModuleImporter, runFunctionHost } from "../runtimes/function-host.ts";
import { AGENT_VERSION } from "../worker.ts";
import { agentUsage, isArgumentError, runAgentCommand } from "./agent-command.ts";
import { EngineProxyArgumentError, engineProxyUsage, runEngineProxyCommand } from "./engine-proxy-command.ts";

export { AGENT_VERSION };

const COMMAND = "ferry-agent";
/** What FunctionRuntime passes the function host. */
const FUNCTION_HOST_ENV = [
  "FERRY_FUNCTION_FILE",
  "FERRY_FUNCTION_EXPORT",
  "FERRY_FUNCTION_RESULT",
  "FERRY_FUNCTION_MESSAGE",
];

export interface AgentMainOptions {
  /**
   * How this program starts itself: the prefix of the command that runs one
   * function step (`<self> function-host`). Unset when running from sources,
   * where the function host runs under tsx.
   */
  self?: string[];
  /** How the function host imports handlers. @default dynamic import() */
  importModule?: ModuleImporter;
}

/**
 * `ferry-agent`: the edge agent on its own (the artifact's entry, with no
 * other Ferry command). Returns the exit code.
 */
export async function main(argv: string[], options: AgentMainOptions = {}): Promise<number> {
  const [first] = argv;
  if (first === "--version" || first === "-v") {
    process.stdout.write(
      `${COMMAND} ${AGENT_VERSION} (Node.js ${process.version} ${process.platform}-${process.arch})\n`,
    );
    return 0;
  }
  // Internal: the agent starting itself to run one function step (FunctionRuntime).
  if (first === "function-host") {
    const missing = FUNCTION_HOST_ENV.filter((name) => !process.env[name]);
    if (missing.length > 0) {
      process.stderr.write(
        `${COMMAND} function-host: missing ${missing.join(", ")}: this mode runs one function step for the agent, which sets them; run \`${COMMAND} --config agent.yaml\`\n`,
      );
      return 2;
    }
    await runFunctionHost(options.importModule ?? ((url) => import(url)));
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const io = {
    stdout: (text: string) => process.stdout.write(text),
    stderr: (text: string) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  };
  try {
    // The engine proxy (ferry-engine-proxy.service): the agent's only way to the engine without the docker group.
    if (first === "engine-proxy")
      return await runEngineProxyCommand(`${COMMAND} engine-proxy`, argv.slice(1), io);
    const hostCommand = options.self ? { functionHostCommand: [...options.self, "function-host"] } : {};
    return await runAgentCommand(COMMAND, argv, io, hostCommand);
  } catch (error) {
    if (error instanceof EngineProxyArgumentError) {
      io.stderr(
        `${COMMAND} engine-proxy: ${error.message}\n\n${engineProxyUsage(`${COMMAND} engine-proxy`)}`,
      );
      return 2;
    }
    if (isArgumentError(error)) {
      io.stderr(`${COMMAND}: ${error.message}\n\n${agentUsage(COMMAND)}`);
      return 2;
    }
    io.stderr(`${COMMAND}: ${(error as Error)?.message ?? String(error)}\n`);
    if (io.env.FERRY_DEBUG) io.stderr(`${(error as Error)?.stack ?? ""}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
