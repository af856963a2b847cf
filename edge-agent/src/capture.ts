import { CappedText } from "@ferry/functions/worker";

const NEWLINE = 0x0a;

// One log cap for every worker: it lives in @ferry/functions, beside the Lambda adapter that caps its logs too.
export { CappedText };

/**
 * Tracks the last non-blank line of a stream without keeping the stream:
 * a step's output is the JSON object on its last stdout line, however long
 * the log before it was.
 */
export class LastLine {
  private current: Buffer[] = [];
  private currentBytes = 0;
  private last: Buffer | undefined;
  /** True when a line was longer than `maxLineBytes` and was dropped. */
  overflow = false;

  constructor(private readonly maxLineBytes: number) {}

  write(chunk: Buffer): void {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, start)) {
      this.append(chunk.subarray(start, i));
      this.endLine();
      start = i + 1;
    }
    this.append(chunk.subarray(start));
  }

  /** The last non-blank line, trimmed. */
  value(): string | undefined {
    this.endLine();
    return this.last?.toString("utf8").trim();
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.currentBytes += part.length;
    if (this.currentBytes > this.maxLineBytes) {
      this.overflow = true;
      this.current = [];
      return;
    }
    this.current.push(part);
  }

  private endLine(): void {
    if (this.currentBytes > this.maxLineBytes) {
      this.last = undefined;
    } else if (this.current.length > 0) {
      const line = this.current.length === 1 ? this.current[0]! : Buffer.concat(this.current);
      if (line.toString("utf8").trim() !== "") {
        this.last = line;
        this.overflow = false;
      }
    }
    this.current = [];
    this.currentBytes = 0;
  }
}

/** Everything a runtime keeps of one stream. */
export class StreamCapture {
  readonly log: CappedText;
  readonly lastLine: LastLine;

  constructor(capBytes: number, maxLineBytes: number) {
    this.log = new CappedText(capBytes);
    this.lastLine = new LastLine(maxLineBytes);
  }

  write(chunk: Buffer): void {
    this.log.write(chunk);
    this.lastLine.write(chunk);
  }
}
