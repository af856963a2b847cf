import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  type CacheEntry,
  cacheBlobKey,
  cacheFolder,
  cacheKey,
  checkCacheEntry,
} from "@ferry/dsl-compiler/contract";
import { stackNameFor } from "../stack-name.ts";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import { readStepCacheLocation } from "./deployment.ts";

/** One entry of a deployed workflow's step cache, as `ferry cache ls --target` lists it. */
export interface CloudCacheListing {
  scope: { workflow: string; site: string; step: string };
  key: string;
  entry: CacheEntry | undefined;
  /** Why the entry would not answer (corrupt, expired). */
  problem?: string;
  /** Bytes of the entry's output files. */
  sizeBytes: number;
}

/**
 * The operator's view of a deployed workflow's step cache: the stack's index
 * table (items `<workflow>#<key>`, as the workers' `S3StepCache` writes them)
 * and the entries and files under each site's cache segment of the job
 * bucket. Workers never list or delete here: this runs with the operator's
 * credentials, like `ferry deploy`.
 */
export class CloudStepCacheStore {
  private readonly dynamodb: DynamoDBClient;
  private readonly s3: S3Client;

  private constructor(
    context: AwsContext,
    readonly workflow: string,
    readonly table: string,
    readonly bucket: string,
  ) {
    this.dynamodb = new DynamoDBClient(clientConfig(context));
    this.s3 = new S3Client(clientConfig(context));
  }

  /** The cache of `workflow`'s stack; `CACHE_NOT_DEPLOYED` when no step of it caches. */
  static async open(
    workflow: string,
    context: AwsContext,
    stackName = stackNameFor(workflow),
  ): Promise<CloudStepCacheStore> {
    const { table, bucket } = await readStepCacheLocation(stackName, context);
    if (!table) {
      throw new DeployError(
        "OUTPUT_MISSING",
        `stack ${stackName} has no step cache table: no step of ${workflow} has cache: enabled (or it was deployed before Ferry wrote the CacheTableName output; re-deploy it)`,
      );
    }
    return new CloudStepCacheStore(context, workflow, table, bucket);
  }

  async list(): Promise<CloudCacheListing[]> {
    const out: CloudCacheListing[] = [];
    for await (const item of this.items()) {
      const key = item.pk!.S!.slice(this.workflow.length + 1);
      let json: unknown;
      try {
        json = JSON.parse(item.entry?.S ?? "");
      } catch {
        json = undefined;
      }
      const checked = checkCacheEntry(json, key);
      const entry = checked.ok
        ? checked.entry
        : ((json ?? undefined) as CacheEntry | undefined)?.origin
          ? (json as CacheEntry)
          : undefined;
      out.push({
        scope: { workflow: this.workflow, site: item.site?.S ?? "?", step: item.step?.S ?? "?" },
        key,
        entry,
        ...(checked.ok ? {} : { problem: checked.reason }),
        sizeBytes: (entry?.files ?? []).reduce((n, f) => n + (f.sizeBytes ?? 0), 0),
      });
    }
    return out.sort((a, b) => (b.entry?.createdAt ?? "").localeCompare(a.entry?.createdAt ?? ""));
  }

  /** Removes the entries whose key starts with `prefix`: index items, entry objects, and files no other entry holds. */
  async remove(prefix: string): Promise<number> {
    const all = await this.list();
    const gone = all.filter((e) => e.key.startsWith(prefix));
    if (gone.length === 0) return 0;
    await this.deleteItems(gone.map((e) => `${this.workflow}#${e.key}`));
    const kept = new Set(
      all
        .filter((e) => !gone.includes(e))
        .flatMap((e) => (e.entry?.files ?? []).map((f) => `${e.scope.site}/${f.sha256}`)),
    );
    const objects = gone.flatMap((e) => [
      cacheKey(this.workflow, e.scope.site, e.scope.step, e.key),
      ...(e.entry?.files ?? [])
        .filter((f) => !kept.has(`${e.scope.site}/${f.sha256}`) && /^[0-9a-f]{64}$/.test(f.sha256))
        .map((f) => cacheBlobKey(this.workflow, e.scope.site, f.sha256)),
    ]);
    await this.deleteObjects(objects);
    return gone.length;
  }

  /** Removes every entry, claim and file of the workflow's cache. */
  async clear(): Promise<void> {
    const keys: string[] = [];
    for await (const item of this.items({ claims: true })) keys.push(item.pk!.S!);
    await this.deleteItems(keys);
    const prefix = cacheFolder(this.workflow);
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      await this.deleteObjects((page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = page.NextContinuationToken;
    } while (token);
  }

  destroy(): void {
    this.dynamodb.destroy();
    this.s3.destroy();
  }

  /** The workflow's index items (entries; with `claims`, the claims on keys too). */
  private async *items(options: { claims?: boolean } = {}): AsyncGenerator<Record<string, AttributeValue>> {
    const prefixes = [`${this.workflow}#`, ...(options.claims ? [`claim#${this.workflow}#`] : [])];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.table,
          ConsistentRead: true,
          FilterExpression: prefixes.map((_, i) => `begins_with(pk, :p${i})`).join(" OR "),
          ExpressionAttributeValues: Object.fromEntries(prefixes.map((p, i) => [`:p${i}`, { S: p }])),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) if (item.pk?.S) yield item;
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async deleteItems(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests: Record<string, { DeleteRequest: { Key: Record<string, AttributeValue> } }[]> = {
        [this.table]: keys.slice(i, i + 25).map((pk) => ({ DeleteRequest: { Key: { pk: { S: pk } } } })),
      };
      // DynamoDB may hand back part of a batch under load: send it again until none is left.
      while (Object.keys(requests).length > 0) {
        const { UnprocessedItems } = await this.dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: requests }),
        );
        requests = (UnprocessedItems ?? {}) as typeof requests;
      }
    }
  }

  private async deleteObjects(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }
}
