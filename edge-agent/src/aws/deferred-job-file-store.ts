import type { JobFileIdentity, JobFileStore, JobFilesRef } from "@ferry/functions/job-files";

/**
 * A {@link JobFileStore} made by `load` at its first use, not before: an
 * idle agent keeps the S3 client's code unevaluated until a step needs job
 * files. A failed load is retried at the next use. Like S3, it cannot append.
 */
export class DeferredJobFileStore implements JobFileStore {
  private pending: Promise<JobFileStore> | undefined;

  constructor(private readonly load: () => Promise<JobFileStore>) {}

  private store(): Promise<JobFileStore> {
    this.pending ??= this.load().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }

  async download(
    ref: JobFilesRef,
    name: string,
    destPath: string,
    options?: { signal?: AbortSignal },
  ): Promise<JobFileIdentity> {
    return (await this.store()).download(ref, name, destPath, options);
  }

  async upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void> {
    return (await this.store()).upload(ref, name, srcPath);
  }

  async put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void> {
    return (await this.store()).put(ref, name, body);
  }

  async get(ref: JobFilesRef, name: string): Promise<Buffer> {
    return (await this.store()).get(ref, name);
  }
}
