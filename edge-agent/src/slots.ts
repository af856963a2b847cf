/**
 * Counts free execution slots. Slots are taken before receiving so that a
 * worker never holds more messages than it can run; several pollers may
 * share one instance.
 */
export class Slots {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  get free(): number {
    return this.capacity - this.used;
  }

  get busy(): number {
    return this.used;
  }

  /** Takes up to `n` free slots; returns how many were taken (maybe 0). */
  tryTake(n: number): number {
    const taken = Math.max(0, Math.min(n, this.free));
    this.used += taken;
    return taken;
  }

  release(n = 1): void {
    this.used = Math.max(0, this.used - n);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when at least one slot is free, or when `signal` aborts. */
  whenFree(signal?: AbortSignal): Promise<void> {
    if (this.free > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Resolves when no slot is in use. */
  async whenIdle(signal?: AbortSignal): Promise<void> {
    while (this.used > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }
}
