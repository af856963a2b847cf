import { CreateStateMachineCommand, type SFNClient } from "@aws-sdk/client-sfn";
import { executionPrefixFormat } from "@ferry/dsl-compiler/contract";
import { LOCALSTACK_ACCOUNT_ID, uniqueName } from "./env.ts";

/** A state machine of one queue-backed Task, answered by the agent under test. */
export async function createOneStepMachine(
  sfn: SFNClient,
  options: {
    workflow: string;
    step: string;
    queueUrl: string;
    heartbeatSeconds?: number;
    /** The job bucket the message names. @default "unused" */
    bucket?: string;
  },
): Promise<{ stateMachineArn?: string }> {
  const task = {
    Type: "Task",
    Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    ...(options.heartbeatSeconds ? { HeartbeatSeconds: options.heartbeatSeconds } : {}),
    TimeoutSeconds: 120,
    Parameters: {
      QueueUrl: options.queueUrl,
      MessageBody: {
        v: 1,
        "token.$": "$$.Task.Token",
        workflow: options.workflow,
        "execution.$": "$$.Execution.Id",
        step: options.step,
        attempt: 1,
        input: { "input.$": "$", deps: {} },
        // What a compiled state machine sends: the execution's own `<workflow>/<execution name>/` prefix.
        jobFiles: {
          bucket: options.bucket ?? "unused",
          "prefix.$": `States.Format('${executionPrefixFormat(options.workflow)}', $$.Execution.Name)`,
        },
      },
    },
    End: true,
  };
  return sfn.send(
    new CreateStateMachineCommand({
      name: uniqueName(options.workflow),
      roleArn: `arn:aws:iam::${LOCALSTACK_ACCOUNT_ID}:role/ferry-test`,
      definition: JSON.stringify({ StartAt: options.step, States: { [options.step]: task } }),
    }),
  );
}
