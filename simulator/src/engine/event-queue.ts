/**
 * The discrete-event queue: a binary min-heap on (time, insertion order).
 * Events that share a time pop in the order they were pushed, which keeps
 * runs deterministic. Fields live in typed arrays and slots are reused, so a
 * run of thousands of events allocates almost nothing.
 */
export class EventQueue {
  private times = new Float64Array(256);
  private seqs = new Float64Array(256);
  private kinds = new Uint8Array(256);
  private argsA = new Int32Array(256);
  private argsB = new Int32Array(256);
  private heap = new Int32Array(256);
  private freeSlots: number[] = [];
  private used = 0;
  private count = 0;
  private nextSeq = 0;

  /** Time, kind and arguments of the event last returned by {@link pop}. */
  time = 0;
  kind = 0;
  a = 0;
  b = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, kind: number, a = 0, b = 0): void {
    const slot = this.freeSlots.pop() ?? this.allocate();
    this.times[slot] = time;
    this.seqs[slot] = this.nextSeq++;
    this.kinds[slot] = kind;
    this.argsA[slot] = a;
    this.argsB[slot] = b;
    let i = this.count++;
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(slot, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Removes the earliest event into `time`/`kind`/`a`/`b`; false when the queue is empty. */
  pop(): boolean {
    if (this.count === 0) return false;
    const heap = this.heap;
    const top = heap[0]!;
    this.time = this.times[top]!;
    this.kind = this.kinds[top]!;
    this.a = this.argsA[top]!;
    this.b = this.argsB[top]!;
    this.freeSlots.push(top);
    const last = heap[--this.count]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.count) break;
      const right = left + 1;
      const child = right < this.count && this.less(heap[right]!, heap[left]!) ? right : left;
      if (!this.less(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return true;
  }

  private less(x: number, y: number): boolean {
    const tx = this.times[x]!;
    const ty = this.times[y]!;
    return tx < ty || (tx === ty && this.seqs[x]! < this.seqs[y]!);
  }

  private allocate(): number {
    if (this.used === this.times.length) {
      const size = this.times.length * 2;
      this.times = grow(this.times, new Float64Array(size));
      this.seqs = grow(this.seqs, new Float64Array(size));
      this.kinds = grow(this.kinds, new Uint8Array(size));
      this.argsA = grow(this.argsA, new Int32Array(size));
      this.argsB = grow(this.argsB, new Int32Array(size));
      this.heap = grow(this.heap, new Int32Array(size));
    }
    return this.used++;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
