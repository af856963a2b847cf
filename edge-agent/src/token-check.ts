import { isAgentError, messageOf } from "./errors.ts";
import type { Completion } from "./ports/completion.ts";

/** What the first heartbeat said about a message's task token. */
export type TokenCheck =
  | { kind: "live" }
  /** Forged (`InvalidToken`): dead-letter it. */
  | { kind: "refused"; reason: string }
  /** A real task that timed out, was answered or whose execution closed (`TaskTimedOut`, `TaskDoesNotExist`): a late redelivery, dropped. */
  | { kind: "gone"; reason: string }
  | { kind: "unknown"; error: unknown };

/** The Step Functions error saying the token was never a task's (`TaskDoesNotExist` also answers tokens of closed executions). */
const FORGED = new Set(["InvalidToken"]);

/**
 * Sends the first heartbeat before anything of the step runs: a forged,
 * token (`InvalidToken`) is dead-lettered and a finished one (`TaskTimedOut`,
 * `TaskDoesNotExist`) dropped, so a message nobody can answer never runs.
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
