import { isAgentError, messageOf } from "./errors.ts";
import type { Completion } from "./ports/completion.ts";

/** What the first heartbeat said about a message's task token. */
export type TokenCheck =
  | { kind: "live" }
  | { kind: "refused"; reason: string }
  | { kind: "unknown"; error: unknown };

/**
 * Sends the first heartbeat before anything of the step runs: a forged,
 * unknown or finished token (`InvalidToken`, `TaskDoesNotExist`,
 * `TaskTimedOut`) is refused, so a message nobody can answer never runs.
 * Costs one Step Functions round trip per attempt.
 */
export async function checkToken(completion: Completion, token: string): Promise<TokenCheck> {
  try {
    await completion.heartbeat(token);
    return { kind: "live" };
  } catch (error) {
    if (isAgentError(error, "TASK_GONE"))
      return {
        kind: "refused",
        reason: `the task token was refused before the step ran: ${messageOf(error)}`,
      };
    return { kind: "unknown", error };
  }
}
