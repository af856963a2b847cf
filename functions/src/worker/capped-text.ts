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
