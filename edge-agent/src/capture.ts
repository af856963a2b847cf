const NEWLINE = 0x0a;

/**
 * Keeps at most `capBytes` of a stream: its head and its tail, with a marker
 * where the middle was dropped. A step's log must not exhaust a device's
 * memory, and its end usually says why it failed.
 */
export class CappedText {
  private readonly head: Buffer[] = [];
  private readonly tail: Buffer[] = [];
  private headBytes = 0;
  private tailBytes = 0;
  /** Bytes written, kept or not. */
  totalBytes = 0;

  constructor(private readonly capBytes: number) {}

  get truncated(): boolean {
    return this.totalBytes > this.capBytes;
  }

  write(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    const headRoom = Math.floor(this.capBytes / 2) - this.headBytes;
    let rest = chunk;
    if (headRoom > 0) {
      const part = rest.subarray(0, headRoom);
      this.head.push(part);
      this.headBytes += part.length;
      rest = rest.subarray(part.length);
    }
    if (rest.length === 0) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    const tailCap = this.capBytes - Math.floor(this.capBytes / 2);
    while (this.tailBytes > tailCap) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - tailCap;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    const tail = Buffer.concat(this.tail).toString("utf8");
    if (!this.truncated) return head + tail;
    const dropped = this.totalBytes - this.headBytes - this.tailBytes;
    return `${head}\n… [${dropped} bytes dropped: log cap is ${this.capBytes} bytes] …\n${tail}`;
  }
}

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
