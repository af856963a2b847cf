/**
 * A `ferry` subcommand. Packages other than the compiler (edge agent,
 * simulator, infra) export their commands in this shape and the CLI loads
 * them lazily, so `ferry validate` never pays for the AWS SDK.
 */
export interface CliCommand {
  name: string;
  /** One line for `ferry --help`. */
  summary: string;
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
