import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { StateIndex } from "@ferry/dsl-compiler";
import { type AwsContext, clientConfig } from "./aws-context.ts";

/**
 * The compiled state index of one deployed state machine, stored next to
 * the workflow's assets so that `ferry status <execution-arn>` maps states
 * to steps without the spec.
 */
export interface StoredStateIndex {
  v: 1;
  workflow: string;
  /** `root`, `child-1`, … */
  machine: string;
  states: StateIndex;
  /** Child state machine names by machine id, so child executions resolve too. */
  children: Record<string, string>;
  /** The workflow's steps and their edges (on every machine's index), so viewers draw the DAG without the spec. */
  steps?: Array<{ name: string; site: string; depends: string[] }>;
}

/** `ferry-assets-<account>-<region>`: the staging bucket `ferry deploy` creates. */
export function assetsBucketName(accountId: string, region: string): string {
  return `ferry-assets-${accountId}-${region}`;
}

export function stateIndexKey(stateMachineName: string): string {
  return `ferry/state-index/${stateMachineName}.json`;
}

/** Writes one state machine's index to the staging bucket. */
export async function putStateIndex(
  context: AwsContext,
  where: { accountId: string; region: string; stateMachineName: string },
  index: StoredStateIndex,
): Promise<void> {
  const s3 = new S3Client(clientConfig(context, where.region));
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: assetsBucketName(where.accountId, where.region),
        Key: stateIndexKey(where.stateMachineName),
        Body: JSON.stringify(index),
        ContentType: "application/json",
      }),
    );
  } finally {
    s3.destroy();
  }
}

/**
 * Reads the index of the machine an execution ARN
 * (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`) belongs
 * to; undefined when the workflow was not deployed by `ferry deploy`.
 */
export async function getStateIndex(
  context: AwsContext,
  executionArn: string,
): Promise<StoredStateIndex | undefined> {
  const [, , , region, accountId, , machineName] = executionArn.split(":");
  if (!region || !accountId || !machineName) return undefined;
  const s3 = new S3Client(clientConfig(context, region));
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: assetsBucketName(accountId, region), Key: stateIndexKey(machineName) }),
    );
    return JSON.parse(await out.Body!.transformToString()) as StoredStateIndex;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || status === 403) return undefined;
    throw error;
  } finally {
    s3.destroy();
  }
}
