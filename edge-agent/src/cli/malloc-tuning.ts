/**
 * glibc's malloc settings the built agent runs with. Parsing and compiling
 * the one-file agent (2.6 MiB of JavaScript) makes V8 allocate ~30 MiB of
 * 16–64 KiB zone segments that it frees at once; glibc keeps such freed
 * blocks in the process heap for reuse, so they stayed in the idle agent's
 * resident memory for good. Blocks of 16 KiB and more mapped on their own
 * go back to the system when freed.
 */
export const MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=65536";

/** Commands that run for a long time (the agent, the engine proxy); the others exit soon and never re-start. */
const SHORT_COMMANDS = new Set(["function-host", "--version", "-v", "--help", "-h", "help"]);

/**
 * The program and arguments that start this process again with
 * {@link MALLOC_TUNABLES}, or undefined when it already runs with tunables
 * (its own, or the operator's `GLIBC_TUNABLES`), is not on Linux, or runs a
 * short command. `argv` is the agent's own arguments (after the program).
 */
export function reexecWithTunables(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
  platform: NodeJS.Platform = process.platform,
): { env: Record<string, string>; tunables: string } | undefined {
  if (platform !== "linux" || env.GLIBC_TUNABLES !== undefined) return undefined;
  if (SHORT_COMMANDS.has(argv[0] ?? "")) return undefined;
  const next: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) next[name] = value;
  next.GLIBC_TUNABLES = MALLOC_TUNABLES;
  return { env: next, tunables: MALLOC_TUNABLES };
}
