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
 * What a staged job file is: the object it came from and the bytes it
 * holds. Two files are the same only if all of it matches; the step cache
 * keys on `sha256` (content), provenance records all of it.
 */
export interface JobFileIdentity {
  /** The bucket, or `""` for a local folder. */
  bucket: string;
  /** The object key, or the path under the local folder. */
  key: string;
  /** Set by object stores (S3's ETag). */
  etag?: string;
  /** Set on versioned buckets. */
  versionId?: string;
  sizeBytes: number;
  /** Hex sha256 of the content. */
  sha256: string;
}

/**
 * Storage of job files shared by the steps of one execution: S3 in the field,
 * a local folder in `ferry run`. Names are relative paths under the prefix.
 */
export interface JobFileStore {
  /**
   * Copies `name` to `destPath` and says what it was; rejects with
   * `JOB_FILES_FAILED` if it is missing. Once `signal` aborts, stops
   * writing and rejects.
   */
  download(
    ref: JobFilesRef,
    name: string,
    destPath: string,
    options?: { signal?: AbortSignal },
  ): Promise<JobFileIdentity>;
  /** Copies `srcPath` to `name`. */
  upload(ref: JobFilesRef, name: string, srcPath: string): Promise<void>;
  put(ref: JobFilesRef, name: string, body: Buffer | string): Promise<void>;
  /** Appends to `name`, creating it; only stores that can (a local folder; S3 cannot). */
  append?(ref: JobFilesRef, name: string, text: string): Promise<void>;
  get(ref: JobFilesRef, name: string): Promise<Buffer>;
}
