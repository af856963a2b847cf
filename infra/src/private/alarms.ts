import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { StepQueue } from "./step-queues.ts";

/**
 * Alarms on failed and timed-out executions of the root machine (a failing
 * child fails its parent) and on every dead-letter queue holding a message.
 */
export function createAlarms(
  scope: Construct,
  workflow: string,
  root: sfn.StateMachine,
  queues: Map<string, StepQueue>,
  topic?: sns.ITopic,
): cloudwatch.Alarm[] {
  const group = new Construct(scope, "Alarms");
  const period = Duration.minutes(5);
  const alarms = [
    new cloudwatch.Alarm(group, "ExecutionsFailed", {
      alarmDescription: `Ferry ${workflow}: an execution failed`,
      metric: root.metricFailed({ period, statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    new cloudwatch.Alarm(group, "ExecutionsTimedOut", {
      alarmDescription: `Ferry ${workflow}: an execution timed out`,
      metric: root.metricTimedOut({ period, statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  ];
  for (const { ir, deadLetterQueue } of queues.values()) {
    alarms.push(
      new cloudwatch.Alarm(group, `DeadLetters-${ir.id}`, {
        alarmDescription: `Ferry ${workflow}: queue ${ir.id} moved messages to its dead-letter queue; read their bodies and the workers' logs`,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
  if (topic) for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
  return alarms;
}
