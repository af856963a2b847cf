import type { AslState } from "./asl-types.ts";
import { keyPath, type StateNamer } from "./names.ts";
import { slotRef } from "./slots.ts";
import type { StateIndex } from "./state-index.ts";

/**
 * Joins for DAG edges that cross Parallel branches, built only from Step
 * Functions service integrations (no Lambda): one DynamoDB item per
 * (execution, step) holds the step's output once it is done and the task
 * tokens of the branches waiting for it.
 *
 * - The waiting branch adds its token with the condition "not done yet" and
 *   waits for the callback; if the step is already done the condition fails
 *   and the branch reads the output instead.
 * - The finishing branch marks the item done, reading the tokens it held,
 *   and sends each one the output.
 *
 * DynamoDB applies the two updates to the item one after the other, so every
 * waiter is either woken or sees `done`: no lost wake-up, no polling.
 */
export const DYNAMODB_UPDATE_WAIT = "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken";
export const DYNAMODB_UPDATE = "arn:aws:states:::aws-sdk:dynamodb:updateItem";
export const DYNAMODB_GET = "arn:aws:states:::aws-sdk:dynamodb:getItem";
export const SFN_SEND_TASK_SUCCESS = "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess";

/** Error names of a failed DynamoDB condition, as the SDK and optimized integrations spell them. */
const CONDITION_FAILED = [
  "DynamoDb.ConditionalCheckFailedException",
  "DynamoDB.ConditionalCheckFailedException",
];

/** Where an awaited dependency's output lands in the waiting branch. */
export function remotePath(dep: string): string {
  return `${keyPath("$.remote", dep)}.value`;
}

function itemKey(step: string): Record<string, unknown> {
  return { pk: { "S.$": `States.Format('{}#${step}', $.ferry.execution)` } };
}

export function awaitStates(
  waiter: string,
  dep: string,
  table: string,
  namer: StateNamer,
  next: string | undefined,
): { entry: string; states: Record<string, AslState>; index: StateIndex } {
  const wait = namer.aux(waiter, "await", dep);
  const read = namer.aux(waiter, "read", dep);
  const after = next === undefined ? { End: true as const } : { Next: next };
  return {
    entry: wait,
    states: {
      [wait]: {
        Type: "Task",
        Resource: DYNAMODB_UPDATE_WAIT,
        Parameters: {
          TableName: slotRef(table),
          Key: itemKey(dep),
          UpdateExpression: "ADD waiters :token",
          ConditionExpression: "attribute_not_exists(done)",
          ExpressionAttributeValues: { ":token": { "SS.$": "States.Array($$.Task.Token)" } },
        },
        ResultSelector: { "value.$": "$" },
        ResultPath: keyPath("$.remote", dep),
        Catch: [{ ErrorEquals: CONDITION_FAILED, ResultPath: null, Next: read }],
        ...after,
      },
      [read]: {
        Type: "Task",
        Resource: DYNAMODB_GET,
        Parameters: { TableName: slotRef(table), Key: itemKey(dep), ConsistentRead: true },
        ResultSelector: { "value.$": "States.StringToJson($.Item.output.S)" },
        ResultPath: keyPath("$.remote", dep),
        ...after,
      },
    },
    index: {
      [wait]: { kind: "await", step: waiter, dep },
      [read]: { kind: "await-read", step: waiter, dep },
    },
  };
}

export function signalStates(
  step: string,
  table: string,
  namer: StateNamer,
  next: string | undefined,
): { entry: string; states: Record<string, AslState>; index: StateIndex } {
  const signal = namer.aux(step, "signal");
  const check = namer.aux(step, "has-waiters");
  const wake = namer.aux(step, "wake");
  const notify = namer.aux(step, "notify");
  const gone = namer.aux(step, "waiter-gone");
  const done = next === undefined ? namer.aux(step, "signalled") : next;
  const states: Record<string, AslState> = {
    [signal]: {
      Type: "Task",
      Resource: DYNAMODB_UPDATE,
      Parameters: {
        TableName: slotRef(table),
        Key: itemKey(step),
        UpdateExpression: "SET done = :done, #output = :output",
        ExpressionAttributeNames: { "#output": "output" },
        ExpressionAttributeValues: {
          ":done": { BOOL: true },
          ":output": { "S.$": `States.JsonToString(${keyPath("$.results", step)})` },
        },
        ReturnValues: "ALL_OLD",
      },
      ResultPath: "$.signal",
      Next: check,
    },
    [check]: {
      Type: "Choice",
      Choices: [{ Variable: "$.signal.Attributes.waiters.SS", IsPresent: true, Next: wake }],
      Default: done,
    },
    [wake]: {
      Type: "Map",
      ItemsPath: "$.signal.Attributes.waiters.SS",
      ItemSelector: {
        "token.$": "$$.Map.Item.Value",
        "output.$": `States.JsonToString(${keyPath("$.results", step)})`,
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: "INLINE" },
        StartAt: notify,
        States: {
          [notify]: {
            Type: "Task",
            Resource: SFN_SEND_TASK_SUCCESS,
            Parameters: { "TaskToken.$": "$.token", "Output.$": "$.output" },
            // A waiter whose branch was cancelled no longer holds a valid token.
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: gone }],
            End: true,
          },
          [gone]: { Type: "Pass", End: true },
        },
      },
      ResultPath: null,
      Next: done,
    },
  };
  const index: StateIndex = {
    [signal]: { kind: "signal", step },
    [check]: { kind: "control" },
    [wake]: { kind: "control" },
    [notify]: { kind: "signal-notify", step },
    [gone]: { kind: "control" },
  };
  if (next === undefined) {
    states[done] = { Type: "Pass", End: true };
    index[done] = { kind: "control" };
  }
  return { entry: signal, states, index };
}
