import { closeSync, fdatasync, openSync, write } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/** The run folder's file of step outputs kept for `--resume`: one JSON line per succeeded unit. */
export const OUTPUTS_FILE = "outputs.jsonl";

const fdatasyncAsync = promisify(fdatasync);
const writeAsync = promisify(write);

/**
 * Step outputs of one run in one append-only file, so that a step's end
 * costs one append instead of a folder and a file. Appends that arrive
 * while the previous ones are being written go out together, followed by
 * one fdatasync: what `--resume` finds is on disk once a step ended.
 */
export class OutputLog {
  private readonly fd: number;
  private pending: string[] = [];
  private flushing: Promise<void> | undefined;

  constructor(runDir: string) {
    this.fd = openSync(join(runDir, OUTPUTS_FILE), "a");
  }

  /** Appends `value` under `key`; resolves once it is on disk. */
  append(key: string, value: unknown): Promise<void> {
    this.pending.push(`${JSON.stringify({ key, value })}\n`);
    this.flushing ??= this.flush();
    return this.flushing;
  }

  /** Waits for every append, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    closeSync(this.fd);
  }

  private async flush(): Promise<void> {
    // Let the appends of this tick join the batch.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const text = this.pending.join("");
        this.pending = [];
        await writeAll(this.fd, Buffer.from(text));
        await fdatasyncAsync(this.fd);
      }
    } finally {
      this.flushing = undefined;
    }
  }
}

async function writeAll(fd: number, buffer: Buffer): Promise<void> {
  for (let offset = 0; offset < buffer.length; ) {
    const { bytesWritten } = await writeAsync(fd, buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}

/** The outputs a run kept, by key; a torn last line (the run was killed mid-append) is left out. */
export async function readOutputLog(runDir: string): Promise<Map<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(join(runDir, OUTPUTS_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const outputs = new Map<string, unknown>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as { key: string; value: unknown };
      outputs.set(entry.key, entry.value);
    } catch {
      // Only the last line can be torn; every complete line before it counts.
    }
  }
  return outputs;
}
