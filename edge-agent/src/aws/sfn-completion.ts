import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import { AgentError } from "../errors.ts";
import type { Completion } from "../ports/completion.ts";

/** Step Functions errors meaning the token can no longer be answered. */
const GONE = new Set(["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"]);

/**
 * A {@link Completion} on AWS Step Functions: SendTaskSuccess, SendTaskFailure
 * and SendTaskHeartbeat. A token that timed out, was answered, or is unknown
 * rejects with `AgentError("TASK_GONE")`.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html
 */
export class SfnCompletion implements Completion {
  constructor(private readonly client: SFNClient) {}

  success(token: string, output: unknown): Promise<void> {
    return this.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? null) }),
    );
  }

  failure(token: string, error: string, cause: string): Promise<void> {
    return this.send(new SendTaskFailureCommand({ taskToken: token, error, cause }));
  }

  heartbeat(token: string): Promise<void> {
    return this.send(new SendTaskHeartbeatCommand({ taskToken: token }));
  }

  private async send(
    command: SendTaskSuccessCommand | SendTaskFailureCommand | SendTaskHeartbeatCommand,
  ): Promise<void> {
    try {
      // The SDK's overloads do not accept a union; each branch is the same call.
      await this.client.send(command as SendTaskHeartbeatCommand);
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (GONE.has(name)) {
        throw new AgentError("TASK_GONE", `Step Functions refused the task token: ${name}`, { cause: error });
      }
      throw error;
    }
  }
}
