import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type CacheEntry, cacheBlobKey, cacheKey, checkCacheEntry } from "@ferry/dsl-compiler/contract";
import { JobFilesError, messageOf } from "../errors.ts";
import { containedPath, hashFile, openNoFollow, safeRelative } from "../job-files/index.ts";
import type { CacheClaim, CacheLookup, CacheScope, StepCache } from "./store.ts";

export interface S3StepCacheOptions {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  /** The workflow's job bucket: entries and their files live in each site's cache segment. */
  bucket: string;
  /** The stack's cache index table (partition key `pk`, TTL attribute `expiresAtEpoch`). */
  table: string;
  /** The site this worker writes for: it writes only its own segment and reads every site's. */
  site: string;
}

/**
 * The step cache in the cloud, shared by every site of a workflow. The index
 * (DynamoDB, one item per key) answers a lookup in one round trip; the entry
 * is also written at the contract's `cacheKey` and its output files by
 * content at `cacheBlobKey`, under the writing site's segment. A reader
 * checks the entry (`checkCacheEntry`, expiry included: DynamoDB's TTL
 * deletes lazily) and every file's sha256 before a hit counts.
 */
export class S3StepCache implements StepCache {
  constructor(private readonly options: S3StepCacheOptions) {}

  async lookup(scope: CacheScope, key: string): Promise<CacheLookup> {
    const { Item } = await this.options.dynamodb.send(
      new GetItemCommand({
        TableName: this.options.table,
        Key: { pk: { S: indexKey(scope.workflow, key) } },
        ConsistentRead: true,
      }),
    );
    if (!Item?.entry?.S) return {};
    let json: unknown;
    try {
      json = JSON.parse(Item.entry.S);
    } catch {
      json = undefined;
    }
    const checked = checkCacheEntry(json, key);
    if (checked.ok) return { hit: checked.entry };
    // Only the writer's own site may remove its item; another site's bad entry is overwritten by the rerun.
    if (Item.site?.S === this.options.site) await this.dropIndex(scope, key);
    return { reason: checked.reason };
  }

  async restore(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<boolean> {
    for (const file of entry.files) {
      const dest = join(jobDir, safeRelative(file.name, "output"));
      await mkdir(dirname(dest), { recursive: true });
      try {
        const out = await this.options.s3.send(
          new GetObjectCommand({
            Bucket: this.options.bucket,
            Key: cacheBlobKey(scope.workflow, entry.origin.site, file.sha256),
          }),
        );
        await pipeline(out.Body as Readable, createWriteStream(dest));
      } catch (error) {
        if ((error as { name?: string }).name !== "NoSuchKey") throw error;
        await rm(dest, { force: true });
        return this.refused(scope, entry);
      }
      // Another site's bytes are used only once they hash to what its entry recorded.
      if ((await hashFile(dest)) !== file.sha256) {
        await rm(dest, { force: true });
        return this.refused(scope, entry);
      }
    }
    return true;
  }

  async write(scope: CacheScope, entry: CacheEntry, jobDir: string): Promise<void> {
    const { s3, bucket, site } = this.options;
    for (const file of entry.files) {
      const Key = cacheBlobKey(scope.workflow, site, file.sha256);
      const there = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key })).then(
        () => true,
        (error: { name?: string }) => {
          if (error.name === "NotFound" || error.name === "NoSuchKey") return false;
          throw error;
        },
      );
      if (there) continue;
      const handle = await openNoFollow(containedPath(jobDir, file.name, `output "${file.name}"`), file.name);
      try {
        const { size } = await handle.stat();
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: handle.createReadStream({ autoClose: false }),
            ContentLength: size,
            ChecksumSHA256: Buffer.from(file.sha256, "hex").toString("base64"),
          }),
        );
      } finally {
        await handle.close();
      }
    }
    const body = JSON.stringify(entry);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: cacheKey(scope.workflow, site, scope.step, entry.key),
        Body: body,
        ContentType: "application/json",
      }),
    );
    await this.options.dynamodb.send(
      new PutItemCommand({
        TableName: this.options.table,
        Item: {
          pk: { S: indexKey(scope.workflow, entry.key) },
          entry: { S: body },
          site: { S: site },
          step: { S: scope.step },
          ...(entry.expiresAt
            ? { expiresAtEpoch: { N: String(Math.ceil(Date.parse(entry.expiresAt) / 1000)) } }
            : {}),
        },
      }),
    );
  }

  async claim(scope: CacheScope, key: string, holdMs: number): Promise<CacheClaim | undefined> {
    const { dynamodb, table } = this.options;
    const pk = `claim#${indexKey(scope.workflow, key)}`;
    const now = Date.now();
    try {
      // The conditional write elects one runner; a claim past its hold (its runner died) is taken over.
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: pk },
            until: { N: String(now + holdMs) },
            site: { S: this.options.site },
            expiresAtEpoch: { N: String(Math.ceil((now + holdMs) / 1000) + 60) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR #until < :now",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: { ":now": { N: String(now) } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new JobFilesError(`could not claim a cache key: ${messageOf(error)}`, { cause: error });
    }
    return {
      release: async () => {
        await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
      },
    };
  }

  private async refused(scope: CacheScope, entry: CacheEntry): Promise<boolean> {
    if (entry.origin.site === this.options.site) await this.dropIndex(scope, entry.key);
    return false;
  }

  private async dropIndex(scope: CacheScope, key: string): Promise<void> {
    await this.options.dynamodb.send(
      new DeleteItemCommand({
        TableName: this.options.table,
        Key: { pk: { S: indexKey(scope.workflow, key) } },
      }),
    );
  }
}

/** Keys are content hashes, the same whichever site ran the step: one item per workflow and key. */
function indexKey(workflow: string, key: string): string {
  return `${workflow}#${key}`;
}
