import { createWriteStream } from "node:fs";
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { jobFileKey } from "@ferry/dsl-compiler/contract";
import { FunctionError, JobFilesError, messageOf } from "../errors.ts";
import { openNoFollow } from "./contained-files.ts";
import { DownloadCache, type ObjectIdentity } from "./download-cache.ts";
import { hashFile } from "./file-hash.ts";
import { safeRelative } from "./paths.ts";
import type { JobFileIdentity, JobFileStore, JobFilesRef } from "./store.ts";

export interface S3JobFileStoreOptions {
  client: S3Client;
  /**
   * Cache of downloaded files (keyed by bucket, key, ETag and version), so
   * data already on the device is not fetched again. Omit to disable.
   */
  cacheDir?: string;
  /** Size the cache is evicted down to. @default 10 GiB */
  cacheMaxBytes?: number;
}

/**
 * Job files in S3 under the writing site's keys (`jobFileKey`:
 * `<workflow>/<site>/<execution>/<name>`). Downloads go through a local
 * {@link DownloadCache} (data locality) and are made read-only in the job folder.
 */
export class S3JobFileStore implements JobFileStore {
  private readonly cache: DownloadCache | undefined;

  constructor(private readonly options: S3JobFileStoreOptions) {
    this.cache = options.cacheDir
      ? new DownloadCache({
          dir: options.cacheDir,
          ...(options.cacheMaxBytes !== undefined ? { maxBytes: options.cacheMaxBytes } : {}),
        })
      : undefined;
  }

  async download(
    ref: JobFilesRef,
    name: string,
    destPath: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<JobFileIdentity> {
    const Key = keyOf(ref, name);
    const { signal } = options;
    await mkdir(dirname(destPath), { recursive: true });
    try {
      let staged: JobFileIdentity;
      if (!this.cache) {
        const meta = await this.fetchTo({ Bucket: ref.bucket, Key }, destPath, signal);
        staged = {
          bucket: ref.bucket,
          key: Key,
          ...meta,
          sizeBytes: (await stat(destPath)).size,
          sha256: await hashFile(destPath),
        };
      } else {
        const head = await this.options.client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key }), {
          ...(signal ? { abortSignal: signal } : {}),
        });
        const identity: ObjectIdentity = {
          bucket: ref.bucket,
          key: Key,
          etag: head.ETag ?? "",
          ...(head.VersionId ? { versionId: head.VersionId } : {}),
          sizeBytes: head.ContentLength ?? 0,
        };
        // If-Match (and the version): an object replaced between HEAD and GET fails instead of mixing identities.
        staged = await this.cache.copyTo(identity, destPath, (part) =>
          this.fetchTo(
            {
              Bucket: ref.bucket,
              Key,
              ...(identity.etag ? { IfMatch: identity.etag } : {}),
              ...(identity.versionId ? { VersionId: identity.versionId } : {}),
            },
            part,
            signal,
          ).then(() => undefined),
        );
      }
      await chmod(destPath, 0o444);
      return staged;
    } catch (error) {
      if (error instanceof FunctionError) throw error;
      throw new JobFilesError(`could not download job file s3://${ref.bucket}/${Key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void> {
    const Key = keyOf(ref, name);
    try {
      const handle = await openNoFollow(srcPath, `output "${name}"`);
      try {
        const { size } = await handle.stat();
        await this.options.client.send(
          new PutObjectCommand({
            Bucket: ref.bucket,
            Key,
            Body: handle.createReadStream({ autoClose: false }),
            ContentLength: size,
          }),
        );
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof FunctionError) throw error;
      throw new JobFilesError(`could not upload job file s3://${ref.bucket}/${Key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void> {
    const Key = keyOf(ref, name);
    try {
      await this.options.client.send(new PutObjectCommand({ Bucket: ref.bucket, Key, Body: body }));
    } catch (error) {
      throw new JobFilesError(`could not write s3://${ref.bucket}/${Key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async get(ref: JobFilesRef, name: string): Promise<Buffer> {
    const Key = keyOf(ref, name);
    try {
      const out = await this.options.client.send(new GetObjectCommand({ Bucket: ref.bucket, Key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      throw new JobFilesError(`could not read s3://${ref.bucket}/${Key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private async fetchTo(
    input: { Bucket: string; Key: string; IfMatch?: string; VersionId?: string },
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<{ etag?: string; versionId?: string }> {
    const out = await this.options.client.send(
      new GetObjectCommand(input),
      signal ? { abortSignal: signal } : {},
    );
    try {
      await pipeline(out.Body as Readable, createWriteStream(path), signal ? { signal } : {});
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return {
      ...(out.ETag ? { etag: out.ETag } : {}),
      ...(out.VersionId ? { versionId: out.VersionId } : {}),
    };
  }
}

function keyOf(ref: JobFilesRef, name: string): string {
  try {
    return jobFileKey(ref.prefix, ref.site, safeRelative(name, "job file"));
  } catch (error) {
    throw new JobFilesError(messageOf(error), { cause: error });
  }
}
