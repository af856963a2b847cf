// The agent's command, shared by `ferry agent` (cli) and the standalone `ferry-agent`.
export { type AgentCommandIo, agentUsage, isArgumentError, runAgentCommand } from "./agent-command.ts";
export {
  EngineProxyArgumentError,
  engineProxyUsage,
  runEngineProxyCommand,
} from "./engine-proxy-command.ts";
export { RESTART_MARKER } from "./idle-memory.ts";
export { AGENT_VERSION, type AgentMainOptions, main } from "./main.ts";
