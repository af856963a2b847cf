import { appendFile, type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import type { RunStatus, StepRecord } from "./run-record.ts";

/**
 * One line of a run's `events.ndjson`, appended as the run goes, so a viewer
 * (`ferry ui`) follows a live run by reading new lines instead of reaching
 * into the runtime. `run.json` stays the summary written at start and end.
 */
export type RunEvent =
  /** A step's record after it changed. */
  | { type: "step"; at: string; step: StepRecord }
  /** One finished attempt (of one item, for a `foreach` step). */
  | {
      type: "attempt";
      at: string;
      step: string;
      attempt: number;
      runtime: string;
      outcome: string;
      startedAt: string;
      finishedAt: string;
      exitCode?: number | null;
      error?: string;
      cause?: string;
      /** Relative to the run folder. */
      logPath?: string;
    }
  /** The input a step was dispatched with, and the output it answered (capped, see {@link EVENT_VALUE_CAP_BYTES}). */
  | { type: "input" | "output"; at: string; step: string; value: unknown }
  /** The run ended. */
  | { type: "run"; at: string; status: RunStatus };

/** Inputs and outputs larger than this are recorded as `{ truncated: true, bytes }`, keeping the file cheap. */
export const EVENT_VALUE_CAP_BYTES = 64 * 1024;

export const RUN_EVENTS_FILE = "events.ndjson";

/**
 * Appends events in order; a failed write is reported to `onError` and never
 * stops the run. Lines appended while a write is on its way go out together
 * in the next one: a Distributed Map makes several events per item, and one
 * file append per event let the queue of lines (and memory) grow without
 * bound once items finished faster than the disk took single appends.
 */
export class RunEventLog {
  private pending: string[] = [];
  private writing: Promise<void> | undefined;
  private readonly path: string;

  constructor(
    runDir: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.path = join(runDir, RUN_EVENTS_FILE);
  }

  append(event: RunEvent): void {
    this.pending.push(`${JSON.stringify(event)}\n`);
    this.writing ??= this.drain();
  }

  /**
   * An `input` or `output` event, its value capped as {@link cappedValue}
   * caps it. The value's JSON is made once, for the cap and the line alike:
   * every item of a `foreach` carries its dependencies' outputs in its input
   * (`text`, when the caller already has it).
   */
  appendValue(
    type: "input" | "output",
    at: string,
    step: string,
    value: unknown,
    text: string | undefined = JSON.stringify(value),
  ): void {
    // As JSON.stringify writes the event: an undefined value leaves no field.
    const field = text === undefined ? "" : `,"value":${cappedJson(text)}`;
    this.pending.push(
      `{"type":"${type}","at":${JSON.stringify(at)},"step":${JSON.stringify(step)}${field}}\n`,
    );
    this.writing ??= this.drain();
  }

  /** Resolves when every event appended so far is on disk. */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    // Let the appends of this turn join the first write.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const lines = this.pending.join("");
      this.pending = [];
      await appendFile(this.path, lines).catch(this.onError);
    }
    this.writing = undefined;
  }
}

/** A value as events record it: itself, or a marker when its JSON passes the cap. */
export function cappedValue(value: unknown): unknown {
  const text = JSON.stringify(value) ?? "null";
  return text.length > EVENT_VALUE_CAP_BYTES ? truncated(text) : value;
}

/** The JSON of a value as events record it, from the value's own JSON. */
function cappedJson(text: string): string {
  return text.length > EVENT_VALUE_CAP_BYTES ? JSON.stringify(truncated(text)) : text;
}

function truncated(text: string): { truncated: true; bytes: number } {
  return { truncated: true, bytes: Buffer.byteLength(text) };
}

/**
 * Reads the events from byte `offset` on (0 for all) and the offset to read
 * from next time. A line still being written (no newline yet) is left for
 * the next read; a garbled line is skipped.
 */
export async function readRunEvents(
  runDir: string,
  offset = 0,
): Promise<{ events: RunEvent[]; nextOffset: number }> {
  let file: FileHandle;
  try {
    file = await open(join(runDir, RUN_EVENTS_FILE), "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { events: [], nextOffset: 0 }; // a run from before events
    throw error;
  }
  let data: Buffer;
  try {
    const { size } = await file.stat();
    if (size <= offset) return { events: [], nextOffset: offset };
    data = Buffer.alloc(size - offset);
    const { bytesRead } = await file.read(data, 0, data.length, offset);
    data = data.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
  const end = data.lastIndexOf(0x0a) + 1;
  const events: RunEvent[] = [];
  for (const line of data.subarray(0, end).toString("utf8").split("\n")) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      // A line cut by a crash mid-write: the rest of the file is still good.
    }
  }
  return { events, nextOffset: offset + end };
}
