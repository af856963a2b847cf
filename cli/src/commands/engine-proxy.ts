import { EngineProxyArgumentError, engineProxyUsage, runEngineProxyCommand } from "@ferry/edge-agent/cli";
import { type CliCommand, UsageError } from "../command.ts";

/** `ferry engine-proxy`: the engine proxy's own command (the same one `ferry-agent engine-proxy` runs). */
export const engineProxyCommand: CliCommand = {
  usage: engineProxyUsage("ferry engine-proxy"),
  async run(argv, io) {
    try {
      return await runEngineProxyCommand("ferry engine-proxy", argv, io);
    } catch (error) {
      if (error instanceof EngineProxyArgumentError) throw new UsageError(error.message);
      throw error;
    }
  },
};
