/**
 * A `ferry` subcommand. Its name and one-line summary live in the command
 * table (`commands.ts`), which loads the module only when the command runs,
 * so `ferry --help` and `ferry validate` never pay for the AWS SDK or CDK.
 */
export interface CliCommand {
  /** Full usage text for `ferry <name> --help`. */
  usage: string;
  /** Returns the exit code: 0 success, 1 failure, 2 usage error, 130 cancelled. */
  run(argv: string[], io: CliIo): Promise<number>;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** True when stdout is a terminal (live views, colours). */
  isTTY: boolean;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop and clean up. */
  signal: AbortSignal;
}

/** Thrown for bad command-line usage; the CLI prints it with the usage text and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
