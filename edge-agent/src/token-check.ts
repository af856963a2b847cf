import type { StepMessage } from "@ferry/dsl-compiler/contract";
import { isAgentError, messageOf } from "./errors.ts";
import type { Completion, TokenCheck } from "./ports/completion.ts";

/** The Step Functions error saying the token was never a task's (`TaskDoesNotExist` also answers tokens of closed executions). */
const FORGED = new Set(["InvalidToken"]);

/**
 * Checks a message's task token before anything of the step runs, whether
 * or not the step heartbeats: a forged token (`InvalidToken`) is
 * dead-lettered and a finished one (`TaskTimedOut`, `TaskDoesNotExist`)
 * dropped, so a message nobody can answer never runs. A completion with its
 * own `checkToken` decides (LocalStack, where a heartbeat cannot tell);
 * otherwise the check is one heartbeat, which Step Functions accepts for a
 * task without `HeartbeatSeconds` too. Costs one round trip per attempt.
 */
export function checkToken(completion: Completion, message: StepMessage): Promise<TokenCheck> {
  return completion.checkToken
    ? completion.checkToken(message)
    : checkTokenByHeartbeat(completion, message.token);
}

/** The check as one heartbeat: what Step Functions' answer to it says about the token. */
export async function checkTokenByHeartbeat(completion: Completion, token: string): Promise<TokenCheck> {
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

/**
 * The configured token check, else history reads for a loopback endpoint
 * (LocalStack) and heartbeats everywhere else: a private AWS endpoint
 * (VPC, FIPS) is never on loopback, and its policies grant no history reads.
 */
export function tokenCheckOf(aws: {
  endpoint?: string;
  tokenCheck?: "heartbeat" | "history";
}): "heartbeat" | "history" {
  if (aws.tokenCheck) return aws.tokenCheck;
  if (!aws.endpoint) return "heartbeat";
  const host = new URL(aws.endpoint).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)
    ? "history"
    : "heartbeat";
}
