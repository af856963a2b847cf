/**
 * glibc's malloc settings the built agent runs with. Parsing and compiling
 * the one-file agent (2.6 MiB of JavaScript) makes V8 allocate ~30 MiB of
 * 16–64 KiB zone segments that it frees at once; glibc keeps such freed
 * blocks in the process heap for reuse, so they stayed in the idle agent's
 * resident memory for good. Blocks of 16 KiB and more mapped on their own
 * go back to the system when freed.
 */
export const MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=65536";

/**
 * V8's young generation, capped at 1 MiB a half (it grows to 16 MiB and
 * stays there): an agent mostly waits on its queue, and what a step
 * allocates is short-lived. Costs more, smaller scavenges while busy.
 */
export const NODE_MEMORY_OPTION = "--max-semi-space-size=1";

/** Set in the restarted agent: what its own environment was, restored by {@link restoreEnvironment}. */
export const RESTART_MARKER = "FERRY_AGENT_RESTARTED";
const ORIGINAL_NODE_OPTIONS = "FERRY_AGENT_NODE_OPTIONS";

/** Commands that run for a long time (the agent, the engine proxy); the others exit soon and never re-start. */
const SHORT_COMMANDS = new Set(["function-host", "--version", "-v", "--help", "-h", "help"]);

/**
 * The environment that starts this process again with
 * {@link MALLOC_TUNABLES} (and {@link NODE_MEMORY_OPTION} unless the
 * operator's `NODE_OPTIONS` sizes the young generation), or undefined when
 * it already runs with tunables (its own, or the operator's
 * `GLIBC_TUNABLES`, even empty), is not on Linux, or runs a short command.
 * `argv` is the agent's own arguments (after the program).
 */
export function reexecWithTunables(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
  platform: NodeJS.Platform = process.platform,
): { env: Record<string, string> } | undefined {
  if (platform !== "linux" || env.GLIBC_TUNABLES !== undefined) return undefined;
  if (SHORT_COMMANDS.has(argv[0] ?? "")) return undefined;
  const next: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) next[name] = value;
  next.GLIBC_TUNABLES = MALLOC_TUNABLES;
  next[RESTART_MARKER] = "1";
  const options = env.NODE_OPTIONS;
  if (options !== undefined) next[ORIGINAL_NODE_OPTIONS] = options;
  if (!/--(max-)?semi-space-size/.test(options ?? ""))
    next.NODE_OPTIONS = options ? `${options} ${NODE_MEMORY_OPTION}` : NODE_MEMORY_OPTION;
  return { env: next };
}

/**
 * In the restarted agent, puts its environment back as it was started
 * (the settings served this process only): steps that inherit the agent's
 * environment, and the agent's own children, never see them.
 */
export function restoreEnvironment(env: NodeJS.ProcessEnv): void {
  if (env[RESTART_MARKER] !== "1") return;
  delete env[RESTART_MARKER];
  delete env.GLIBC_TUNABLES;
  if (env[ORIGINAL_NODE_OPTIONS] !== undefined) env.NODE_OPTIONS = env[ORIGINAL_NODE_OPTIONS];
  else delete env.NODE_OPTIONS;
  delete env[ORIGINAL_NODE_OPTIONS];
}
