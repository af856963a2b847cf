import { type CliCommand, type CliIo, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";

function helpText(): string {
  const width = Math.max(...COMMANDS.map(({ name }) => name.length));
  return `Ferry — workflows across the cloud and the edge, compiled to AWS Step Functions.

Usage: ferry <command> [options]

Commands:
${COMMANDS.map(({ name, summary }) => `  ${name.padEnd(width)}  ${summary}`).join("\n")}

Run "ferry <command> --help" for a command's options.
`;
}

async function findCommand(name: string): Promise<CliCommand | undefined> {
  return COMMANDS.find((c) => c.name === name)?.load();
}

export function processIo(signal: AbortSignal): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    signal,
  };
}

/** Entry point: returns the process exit code. Never lets a stack trace reach the user unless FERRY_DEBUG is set. */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  if (!io) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  const cliIo = io ?? processIo(controller.signal);
  const [name, ...rest] = argv;
  try {
    if (!name || name === "--help" || name === "-h" || name === "help") {
      cliIo.stdout(helpText());
      return name ? 0 : 2;
    }
    if (name === "--version" || name === "-v") {
      cliIo.stdout("ferry 0.1.0\n");
      return 0;
    }
    const command = await findCommand(name);
    if (!command) {
      cliIo.stderr(`ferry: unknown command "${name}"\n\n${helpText()}`);
      return 2;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      cliIo.stdout(`${command.usage}\n`);
      return 0;
    }
    try {
      return await command.run(rest, cliIo);
    } catch (error) {
      if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
        cliIo.stderr(`ferry ${name}: ${(error as Error).message}\n\n${command.usage}\n`);
        return 2;
      }
      throw error;
    }
  } catch (error) {
    cliIo.stderr(`ferry: ${(error as Error)?.message ?? String(error)}\n`);
    if (cliIo.env.FERRY_DEBUG) cliIo.stderr(`${(error as Error)?.stack ?? ""}\n`);
    else cliIo.stderr("(set FERRY_DEBUG=1 for details)\n");
    return 1;
  } finally {
    if (!io) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}
