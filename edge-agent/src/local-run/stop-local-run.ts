import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentError } from "../errors.ts";
import { type RunRecord, readRunRecord, runsRoot } from "./run-record.ts";

export interface StopLocalRunOptions {
  /** How long to wait for the run to record its end. @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Cancels a running `ferry run` as Ctrl-C would: SIGTERM to the process
 * its record names, which stops every step and records the run CANCELLED.
 * Resolves with the final record. `ferry stop <run-id>` and `ferry ui` both
 * call this.
 */
export async function stopLocalRun(
  projectDir: string,
  runId: string,
  options: StopLocalRunOptions = {},
): Promise<RunRecord> {
  if (!/^[\w.-]+$/.test(runId)) throw new AgentError("RUN_NOT_RUNNING", `"${runId}" is not a run id`);
  const runDir = join(runsRoot(projectDir), runId);
  const record = await readRunRecord(runDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT")
      throw new AgentError("RUN_NOT_RUNNING", `no run "${runId}" under ${runsRoot(projectDir)}`);
    throw error;
  });
  if (record.status !== "RUNNING")
    throw new AgentError("RUN_NOT_RUNNING", `run ${runId} already ended ${record.status}`);
  if (record.pid === undefined || !alive(record.pid))
    throw new AgentError(
      "RUN_NOT_RUNNING",
      `run ${runId} is recorded RUNNING but its process${record.pid ? ` ${record.pid}` : ""} is gone (it was killed or crashed); resume it with: ferry run ${record.specFile} --resume ${runId}`,
    );
  process.kill(record.pid, "SIGTERM");
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const now = await readRunRecord(runDir);
    if (now.status !== "RUNNING") return now;
    if (!alive(record.pid)) return now;
    if (Date.now() > deadline)
      throw new AgentError(
        "RUN_NOT_RUNNING",
        `run ${runId} did not stop within ${options.timeoutMs ?? 30_000} ms`,
      );
    await sleep(100, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** The recorded process still exists and, where /proc tells, is still a ferry process (a crashed run's pid may have been reused). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone; EPERM: someone else's process, so not this project's run either.
    return false;
  }
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return args.some((a) => /(^|\/)ferry(\.js)?$/.test(a)) && args.includes("run");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return !existsSync("/proc/self"); // no procfs (macOS): trust the pid
    throw error;
  }
}
