import type { AttemptFinished } from "./events.ts";

/**
 * One attempt's log as `ferry run` keeps it under `.ferry/runs/<id>/logs/`
 * and the agent uploads it under the contract's `logName` key: a header
 * (outcome, exit code, duration, error), then stdout and stderr as the
 * worker captured them (already capped at `logCapBytes` each).
 */
export function formatAttemptLog(a: AttemptFinished): string {
  const head = `# ${a.step} attempt ${a.attempt} (${a.runtime}): ${a.outcome}${a.exitCode !== null ? `, exit ${a.exitCode}` : ""}, ${a.durationMs} ms`;
  const failure = a.error ? `\n# ${a.error}: ${a.cause}` : "";
  return `${head}${failure}\n--- stdout ---\n${a.stdout}${a.stdout.endsWith("\n") || !a.stdout ? "" : "\n"}--- stderr ---\n${a.stderr}${a.stderr.endsWith("\n") || !a.stderr ? "" : "\n"}`;
}
