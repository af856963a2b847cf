/** A min-heap of (key, id) pairs; ties pop in insertion order. */
export class PairHeap {
  private keys: number[] = [];
  private ids: number[] = [];
  private seqs: number[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.keys.length;
  }

  /** The smallest key; undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  push(key: number, id: number): void {
    const seq = this.nextSeq++;
    let i = this.keys.length;
    this.keys.push(key);
    this.ids.push(id);
    this.seqs.push(seq);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(key, seq, parent)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, key, id, seq);
  }

  /** Removes the smallest pair and returns its id. */
  pop(): number {
    const top = this.ids[0]!;
    const key = this.keys.pop()!;
    const id = this.ids.pop()!;
    const seq = this.seqs.pop()!;
    const n = this.keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && this.lessAt(right, left) ? right : left;
        if (!this.lessAt(child, -1, key, seq)) break;
        this.move(child, i);
        i = child;
      }
      this.set(i, key, id, seq);
    }
    return top;
  }

  private less(key: number, seq: number, at: number): boolean {
    const k = this.keys[at]!;
    return key < k || (key === k && seq < this.seqs[at]!);
  }

  private lessAt(a: number, b: number, keyB = this.keys[b]!, seqB = this.seqs[b]!): boolean {
    const k = this.keys[a]!;
    return k < keyB || (k === keyB && this.seqs[a]! < seqB);
  }

  private move(from: number, to: number): void {
    this.keys[to] = this.keys[from]!;
    this.ids[to] = this.ids[from]!;
    this.seqs[to] = this.seqs[from]!;
  }

  private set(at: number, key: number, id: number, seq: number): void {
    this.keys[at] = key;
    this.ids[at] = id;
    this.seqs[at] = seq;
  }
}
