import { appendFile, copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { jobFileKey } from "@ferry/dsl-compiler/contract";
import {
  hashFile,
  type JobFileIdentity,
  type JobFileStore,
  type JobFilesRef,
  openNoFollow,
  safeRelative,
} from "@ferry/functions/job-files";
import { AgentError } from "./errors.ts";

/**
 * Job files in a local folder: `<root>/<prefix>/<site>/<name>` (the bucket
 * is ignored; the writing site keeps sites apart as the S3 layout does). `ferry run` points it at `.ferry/runs/<run-id>/files`.
 */
export class LocalJobFileStore implements JobFileStore {
  /** Per appended file: the text waiting for the write in flight, and who waits for it. */
  private readonly appends = new Map<string, { text: string; done: Array<(error?: unknown) => void> }>();

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

  async download(ref: JobFilesRef, name: string, destPath: string): Promise<JobFileIdentity> {
    await mkdir(dirname(destPath), { recursive: true });
    const source = this.pathOf(ref, name);
    try {
      await copyFile(source, destPath);
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
    // The copy is what the step reads, so its bytes are what is identified.
    return {
      bucket: "",
      key: logicalKey(ref, name) ?? relative(this.root, source),
      sizeBytes: (await stat(destPath)).size,
      sha256: await hashFile(destPath),
    };
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

  /**
   * Lines appended while a write is in flight go out together in the next
   * one: thousands of items a second cost a few writes, not a file each.
   */
  append(ref: JobFilesRef, name: string, text: string): Promise<void> {
    const dest = this.pathOf(ref, name);
    return new Promise((resolve, reject) => {
      const settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      const waiting = this.appends.get(dest);
      if (waiting) {
        waiting.text += text;
        waiting.done.push(settle);
        return;
      }
      this.appends.set(dest, { text: "", done: [] });
      void this.flush(dest, text, [settle]);
    });
  }

  private async flush(dest: string, text: string, done: Array<(error?: unknown) => void>): Promise<void> {
    let error: unknown;
    try {
      await mkdir(dirname(dest), { recursive: true });
      await appendFile(dest, text);
    } catch (e) {
      error = e ?? new Error("append failed");
    }
    for (const settle of done) settle(error);
    const next = this.appends.get(dest)!;
    if (next.done.length === 0) this.appends.delete(dest);
    else {
      this.appends.set(dest, { text: "", done: [] });
      void this.flush(dest, next.text, next.done);
    }
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

/** The key the file would have in the bucket (`jobFileKey`), so provenance names it alike everywhere. */
function logicalKey(ref: JobFilesRef, name: string): string | undefined {
  try {
    return jobFileKey(ref.prefix, ref.site, name);
  } catch {
    // A prefix outside the bucket layout (tests): the folder path then.
    return undefined;
  }
}
