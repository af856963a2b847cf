import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { StepMessage, TaskFailure } from "@ferry/dsl-compiler/contract";
import type { JobFileStore, JobFilesRef } from "./job-files/store.ts";
import type { TaskClient } from "./lambda/task-client.ts";

/** A valid step message for tests, with overrides. Exported as "@ferry/functions/testing", not from the package index. */
export function stepMessage(overrides: Partial<StepMessage> = {}): StepMessage {
  return {
    v: 1,
    token: "token-1",
    workflow: "hello",
    execution: "exec-1",
    step: "load",
    attempt: 1,
    input: { input: { day: "2026-01-01" }, deps: { transform: { rows: 3 } } },
    jobFiles: { bucket: "job-bucket", prefix: "hello/exec-1/" },
    ...overrides,
  };
}

/** Job files in memory, keyed `<bucket>/<prefix><site>/<name>` like the S3 layout. */
export class MemoryJobFileStore implements JobFileStore {
  readonly files = new Map<string, Buffer>();
  key(ref: JobFilesRef, name: string) {
    return `${ref.bucket}/${ref.prefix}${ref.site}/${name}`;
  }
  async download(ref: JobFilesRef, name: string, destPath: string) {
    const body = this.files.get(this.key(ref, name));
    if (!body) throw new Error(`missing ${this.key(ref, name)}`);
    await mkdir(dirname(destPath), { recursive: true });
    await writeFile(destPath, body);
    return {
      bucket: ref.bucket,
      key: this.key(ref, name),
      sizeBytes: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
    };
  }
  async upload(ref: JobFilesRef, name: string, srcPath: string) {
    this.files.set(this.key(ref, name), await readFile(srcPath));
  }
  async put(ref: JobFilesRef, name: string, body: Buffer | string) {
    this.files.set(this.key(ref, name), Buffer.from(body));
  }
  async get(ref: JobFilesRef, name: string) {
    const body = this.files.get(this.key(ref, name));
    if (!body) throw new Error(`missing ${this.key(ref, name)}`);
    return body;
  }
}

/** Records the answers a step adapter sends to Step Functions. */
export class RecordingTaskClient implements TaskClient {
  readonly successes: unknown[] = [];
  readonly failures: TaskFailure[] = [];
  async sendTaskSuccess(_token: string, outputJson: string) {
    this.successes.push(JSON.parse(outputJson));
  }
  async sendTaskFailure(_token: string, failure: TaskFailure) {
    this.failures.push(failure);
  }
  async sendTaskHeartbeat() {}
}
