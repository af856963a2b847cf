import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  type ExecutionListItem,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
import {
  executionPrefix,
  jobFileKey,
  logFolder,
  type ProvenanceRecord,
  ProvenanceRecordSchema,
  provenanceFolder,
} from "@ferry/dsl-compiler/contract";
import { type AwsContext, clientConfig, regionOfArn } from "./aws-context.ts";
import { readJobBucket } from "./deployment.ts";
import { getStateIndex, type StoredStateIndex } from "./state-index-store.ts";

/** A deployed workflow's root state machine (`<workflow>-root-<hash>`, as the stack names it). */
export interface DeployedWorkflowMachine {
  workflow: string;
  stateMachineArn: string;
  name: string;
}

const ROOT_MACHINE = /^(.+)-root-[0-9a-f]{8}$/;

/** The root state machines of Ferry workflows in the context's region. */
export async function listWorkflowMachines(context: AwsContext): Promise<DeployedWorkflowMachine[]> {
  const sfn = new SFNClient(clientConfig(context, context.region));
  const machines: DeployedWorkflowMachine[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const out = await sfn.send(
        new ListStateMachinesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
      );
      for (const m of out.stateMachines ?? []) {
        const match = ROOT_MACHINE.exec(m.name ?? "");
        if (match && m.stateMachineArn)
          machines.push({ workflow: match[1]!, stateMachineArn: m.stateMachineArn, name: m.name! });
      }
      nextToken = out.nextToken;
    } while (nextToken);
  } finally {
    sfn.destroy();
  }
  return machines;
}

/** The newest executions of one state machine (one page, up to `maxResults`). */
export async function listMachineExecutions(
  context: AwsContext,
  stateMachineArn: string,
  maxResults = 100,
): Promise<ExecutionListItem[]> {
  const sfn = new SFNClient(clientConfig(context, regionOfArn(stateMachineArn) ?? context.region));
  try {
    return (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults }))).executions ?? [];
  } finally {
    sfn.destroy();
  }
}

/** The stored state index of a state machine, by its ARN (see `getStateIndex`). */
export function machineStateIndex(
  context: AwsContext,
  stateMachineArn: string,
): Promise<StoredStateIndex | undefined> {
  // getStateIndex reads region, account and machine from an execution ARN's fields.
  return getStateIndex(context, `${stateMachineArn.replace(":stateMachine:", ":execution:")}:-`);
}

/** One attempt's log of a cloud execution, as a worker uploaded it under the contract's `logName` key. */
export interface ExecutionLog {
  site: string;
  step: string;
  attempt: number;
  /** A foreach item's index, when the key has one. */
  item?: number;
  /** A batched foreach child's batch id, when the key has one. */
  batch?: string;
  key: string;
  text: string;
  /** Bytes of the object; `text` holds at most the last `maxBytes` of it. */
  bytes: number;
}

/**
 * Reads the attempt logs of an execution (of one step, or all), from every
 * site's folder of the workflow's job-files bucket. The execution is the
 * root one: child machines write under their root's job-files prefix.
 */
export async function readExecutionLogs(
  context: AwsContext,
  executionArn: string,
  options: { workflow: string; step?: string; maxBytes?: number },
): Promise<ExecutionLog[]> {
  const region = regionOfArn(executionArn) ?? context.region;
  const execution = executionArn.split(":").at(-1)!;
  const bucket = await readJobBucket(options.workflow, context, region);
  const prefix = executionPrefix(options.workflow, execution);
  const s3 = new S3Client(clientConfig(context, region));
  const maxBytes = options.maxBytes ?? 64 * 1024;
  try {
    const sites = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${options.workflow}/`, Delimiter: "/" }),
    );
    const logs: ExecutionLog[] = [];
    for (const common of sites.CommonPrefixes ?? []) {
      const site = common.Prefix!.slice(options.workflow.length + 1, -1);
      const folder = jobFileKey(prefix, site, logFolder(options.step));
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: folder,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) {
          const parsed = parseLogKey(object.Key!.slice(jobFileKey(prefix, site, logFolder()).length));
          if (!parsed) continue;
          const size = object.Size ?? 0;
          const got = await s3.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: object.Key!,
              ...(size > maxBytes ? { Range: `bytes=${size - maxBytes}-` } : {}),
            }),
          );
          logs.push({
            site,
            ...parsed,
            key: object.Key!,
            text: await got.Body!.transformToString(),
            bytes: size,
          });
        }
        token = page.NextContinuationToken;
      } while (token);
    }
    return logs.sort(
      (a, b) =>
        a.step.localeCompare(b.step) ||
        (a.item ?? 0) - (b.item ?? 0) ||
        (a.batch ?? "").localeCompare(b.batch ?? "") ||
        a.attempt - b.attempt,
    );
  } finally {
    s3.destroy();
  }
}

/** `<step>/<attempt>.log`, `<step>/item-<n>/<attempt>.log` or `<step>/batch-<id>/<attempt>.log`, the shapes `logName` writes. */
export function parseLogKey(
  rest: string,
): { step: string; attempt: number; item?: number; batch?: string } | undefined {
  const match = /^([^/]+)\/(?:item-(\d+)\/|batch-([0-9a-f]{16})\/)?(\d+)\.log$/.exec(rest);
  if (!match) return undefined;
  return {
    step: match[1]!,
    attempt: Number(match[4]),
    ...(match[2] ? { item: Number(match[2]) } : {}),
    ...(match[3] ? { batch: match[3] } : {}),
  };
}

/**
 * The provenance records of an execution, as every site's workers wrote them
 * under `<workflow>/<site>/<execution>/.ferry/provenance/`; records that do
 * not parse are left out (a worker writes them, not the reader).
 */
export async function readExecutionProvenance(
  context: AwsContext,
  executionArn: string,
  options: { workflow: string },
): Promise<ProvenanceRecord[]> {
  const region = regionOfArn(executionArn) ?? context.region;
  const execution = executionArn.split(":").at(-1)!;
  const bucket = await readJobBucket(options.workflow, context, region);
  const prefix = executionPrefix(options.workflow, execution);
  const s3 = new S3Client(clientConfig(context, region));
  try {
    const sites = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${options.workflow}/`, Delimiter: "/" }),
    );
    const records: ProvenanceRecord[] = [];
    for (const common of sites.CommonPrefixes ?? []) {
      const site = common.Prefix!.slice(options.workflow.length + 1, -1);
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: jobFileKey(prefix, site, provenanceFolder()),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) {
          // A worker writes these, not the reader: an oversized object is skipped, not read.
          if (!object.Key?.endsWith(".json") || (object.Size ?? 0) > 1024 * 1024) continue;
          const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          let json: unknown;
          try {
            json = JSON.parse(await got.Body!.transformToString());
          } catch {
            continue;
          }
          const parsed = ProvenanceRecordSchema.safeParse(json);
          if (parsed.success) records.push(parsed.data);
        }
        token = page.NextContinuationToken;
      } while (token);
    }
    return records.sort((a, b) => a.step.localeCompare(b.step) || a.attempt - b.attempt);
  } finally {
    s3.destroy();
  }
}
