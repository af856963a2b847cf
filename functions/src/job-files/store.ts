/**
 * Where one site's job files of one execution live: `jobFiles` of the step
 * message (bucket, `<workflow>/<execution>/` prefix) plus the site that
 * wrote them (the manifest says which, per input), as the bucket key layout
 * keeps each site's writes apart.
 */
export interface JobFilesRef {
  bucket: string;
  prefix: string;
  site: string;
}

/**
 * Storage of job files shared by the steps of one execution: S3 in the field,
 * a local folder in `ferry run`. Names are relative paths under the prefix.
 */
export interface JobFileStore {
  /**
   * Copies `name` to `destPath`; rejects with `JOB_FILES_FAILED` if it is
   * missing. Once `signal` aborts, stops writing and rejects.
   */
  download(
    ref: JobFilesRef,
    name: string,
    destPath: string,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Copies `srcPath` to `name`. */
  upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void>;
  put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void>;
  get(ref: JobFilesRef, name: string): Promise<Buffer>;
}
