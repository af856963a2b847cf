import { isAgentError, messageOf } from "./errors.ts";
import type { Completion } from "./ports/completion.ts";

/** What the first heartbeat said about a message's task token. */
export type TokenCheck =
  | { kind: "live" }
  /** Forged or unknown (`InvalidToken`, `TaskDoesNotExist`): dead-letter it. */
  | { kind: "refused"; reason: string }
  /** A real task that already timed out or was answered (a late redelivery): drop it. */
  | { kind: "gone"; reason: string }
  | { kind: "unknown"; error: unknown };

/** Step Functions errors saying the token was never a task's. */
const FORGED = new Set(["InvalidToken", "TaskDoesNotExist"]);

/**
 * Sends the first heartbeat before anything of the step runs: a forged,
 * unknown token (`InvalidToken`, `TaskDoesNotExist`) is dead-lettered and a
 * finished one (`TaskTimedOut`) dropped, so a message nobody can answer never runs.
 * Costs one Step Functions round trip per attempt.
 */
export async function checkToken(completion: Completion, token: string): Promise<TokenCheck> {
  try {
    await completion.heartbeat(token);
    return { kind: "live" };
  } catch (error) {
    if (isAgentError(error, "TASK_GONE")) {
      const name = (error.cause as { name?: string } | undefined)?.name ?? "";
      const reason = `the task token was refused before the step ran: ${messageOf(error)}`;
      return FORGED.has(name) ? { kind: "refused", reason } : { kind: "gone", reason };
    }
    return { kind: "unknown", error };
  }
}
