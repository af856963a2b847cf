import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { openNoFollow } from "./contained-files.ts";
import { AgentError } from "./errors.ts";
import { safeRelative } from "./job-paths.ts";
import type { JobFileStore, JobFilesRef } from "./ports/job-files.ts";

/**
 * Job files in a local folder: `<root>/<prefix>/<site>/<name>` (the bucket
 * is ignored; the writing site keeps sites apart as the S3 layout does). `ferry run` points it at `.ferry/runs/<run-id>/files`.
 */
export class LocalJobFileStore implements JobFileStore {
  constructor(private readonly root: string) {}

  /** The folder of one site's job files of one execution. */
  folderOf(ref: JobFilesRef): string {
    return join(this.root, safeRelative(ref.prefix, "jobFiles.prefix", true), safeRelative(ref.site, "site"));
  }

  pathOf(ref: JobFilesRef, name: string): string {
    return join(
      this.root,
      safeRelative(ref.prefix, "jobFiles.prefix", true),
      safeRelative(ref.site, "site"),
      safeRelative(name, "job file"),
    );
  }

  async download(ref: JobFilesRef, name: string, destPath: string): Promise<void> {
    await mkdir(dirname(destPath), { recursive: true });
    try {
      await copyFile(this.pathOf(ref, name), destPath);
    } catch (error) {
      throw new AgentError(
        "JOB_FILES_FAILED",
        `job file "${name}" is missing under ${ref.prefix || "(root)"}`,
        {
          cause: error,
          context: { name },
        },
      );
    }
  }

  async upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void> {
    const dest = this.pathOf(ref, name);
    await mkdir(dirname(dest), { recursive: true });
    // Not copyFile: it follows a link a step planted in place of its output.
    const handle = await openNoFollow(srcPath, `output "${name}"`);
    try {
      await writeFile(dest, handle.createReadStream({ autoClose: false }));
    } finally {
      await handle.close();
    }
  }

  async put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void> {
    const dest = this.pathOf(ref, name);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, body);
  }

  async get(ref: JobFilesRef, name: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(ref, name));
    } catch (error) {
      throw new AgentError(
        "JOB_FILES_FAILED",
        `job file "${name}" is missing under ${ref.prefix || "(root)"}`,
        {
          cause: error,
        },
      );
    }
  }
}
