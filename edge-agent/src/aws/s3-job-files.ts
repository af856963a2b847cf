import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { jobFileKey, sha256 } from "@ferry/dsl-compiler/contract";
import { AgentError, messageOf } from "../errors.ts";
import { safeRelative } from "../job-paths.ts";
import type { JobFileStore, JobFilesRef } from "../ports/job-files.ts";

export interface S3JobFileStoreOptions {
  client: S3Client;
  /**
   * Content-addressed cache of downloaded files (keyed by ETag and size), so
   * data already on the device is not fetched again. Omit to disable.
   */
  cacheDir?: string;
}

/**
 * Job files in S3 under the writing site's keys (`jobFileKey`: `<workflow>/<site>/<execution>/<name>`).
 * Downloads go through a local content-addressed cache (data locality).
 */
export class S3JobFileStore implements JobFileStore {
  constructor(private readonly options: S3JobFileStoreOptions) {}

  async download(ref: JobFilesRef, name: string, destPath: string): Promise<void> {
    const Key = keyOf(ref, name);
    const { client, cacheDir } = this.options;
    await mkdir(dirname(destPath), { recursive: true });
    try {
      if (!cacheDir) {
        await this.fetchTo(ref.bucket, Key, destPath);
        return;
      }
      const head = await client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key }));
      const cached = join(cacheDir, sha256(`${head.ETag}:${head.ContentLength}`));
      if (!(await exists(cached))) {
        await mkdir(cacheDir, { recursive: true });
        const partial = `${cached}.${process.pid}.${Date.now()}.part`;
        await this.fetchTo(ref.bucket, Key, partial);
        await rename(partial, cached);
      }
      // A hard link costs nothing; a copy keeps the cache safe from a step that edits its input.
      await link(cached, destPath).catch(() => copyFile(cached, destPath));
    } catch (error) {
      if (error instanceof AgentError) throw error;
      throw new AgentError(
        "JOB_FILES_FAILED",
        `could not download job file s3://${ref.bucket}/${Key}: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void> {
    const Key = keyOf(ref, name);
    try {
      const { size } = await stat(srcPath);
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: ref.bucket,
          Key,
          Body: createReadStream(srcPath),
          ContentLength: size,
        }),
      );
    } catch (error) {
      throw new AgentError(
        "JOB_FILES_FAILED",
        `could not upload job file s3://${ref.bucket}/${Key}: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void> {
    const Key = keyOf(ref, name);
    try {
      await this.options.client.send(new PutObjectCommand({ Bucket: ref.bucket, Key, Body: body }));
    } catch (error) {
      throw new AgentError(
        "JOB_FILES_FAILED",
        `could not write s3://${ref.bucket}/${Key}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  async get(ref: JobFilesRef, name: string): Promise<Buffer> {
    const Key = keyOf(ref, name);
    try {
      const out = await this.options.client.send(new GetObjectCommand({ Bucket: ref.bucket, Key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      throw new AgentError(
        "JOB_FILES_FAILED",
        `could not read s3://${ref.bucket}/${Key}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  private async fetchTo(Bucket: string, Key: string, path: string): Promise<void> {
    const out = await this.options.client.send(new GetObjectCommand({ Bucket, Key }));
    try {
      await pipeline(out.Body as Readable, createWriteStream(path));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }
}

/** `s3://bucket/key` → parts; throws CONFIG_INVALID otherwise. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new AgentError("CONFIG_INVALID", `"${url}" is not an s3://bucket/key URL`);
  return { bucket: match[1]!, key: match[2]! };
}

function keyOf(ref: JobFilesRef, name: string): string {
  try {
    return jobFileKey(ref.prefix, ref.site, safeRelative(name, "job file"));
  } catch (error) {
    throw new AgentError("JOB_FILES_FAILED", messageOf(error), { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    // Missing is the answer, not an error.
    return false;
  }
}
