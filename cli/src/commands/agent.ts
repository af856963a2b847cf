import { agentUsage, isArgumentError, runAgentCommand } from "@ferry/edge-agent/cli";
import { type CliCommand, UsageError } from "../command.ts";

/** `ferry agent`: the edge agent's own command (the same one the standalone `ferry-agent` runs). */
export const agentCommand: CliCommand = {
  usage: agentUsage("ferry agent"),
  async run(argv, io) {
    try {
      return await runAgentCommand("ferry agent", argv, io);
    } catch (error) {
      if (isArgumentError(error)) throw new UsageError(error.message);
      throw error;
    }
  },
};
