import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
import type { TaskFailure } from "@ferry/dsl-compiler/contract";
import type { TaskClient } from "./task-client.ts";

/** `TaskClient` over the AWS SDK v3 Step Functions client. */
export class SfnTaskClient implements TaskClient {
  constructor(private readonly client: SFNClient = new SFNClient({})) {}

  async sendTaskSuccess(token: string, outputJson: string): Promise<void> {
    await this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: outputJson }));
  }

  async sendTaskFailure(token: string, failure: TaskFailure): Promise<void> {
    await this.client.send(
      new SendTaskFailureCommand({ taskToken: token, error: failure.error, cause: failure.cause }),
    );
  }

  async sendTaskHeartbeat(token: string): Promise<void> {
    await this.client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
  }
}
