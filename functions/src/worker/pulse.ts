export interface PulseOptions {
  intervalMs: number;
  /** One beat: a SendTaskHeartbeat, or a visibility extension. */
  send(): Promise<void>;
  /** Called with the error of a failed beat; the pulse keeps going. */
  onError(error: unknown): void;
}

/**
 * A periodic call with at most one in flight. A tick that comes while the
 * previous beat is still pending is folded into one beat sent right after it
 * (the newest wins), so a slow endpoint never accumulates a backlog.
 * `stop()` waits for the beat in flight, so the task's answer is never
 * overtaken by its own heartbeat.
 */
export class Pulse {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private pending = false;
  private stopped = false;

  constructor(private readonly options: PulseOptions) {}

  start(): this {
    if (this.options.intervalMs > 0 && Number.isFinite(this.options.intervalMs)) {
      // Clamped: Node timers overflow past 2^31-1 ms, and beating more often is harmless.
      this.timer = setInterval(() => this.tick(), Math.min(this.options.intervalMs, 2 ** 31 - 1));
      this.timer.unref?.();
    }
    return this;
  }

  /** Stops ticking and waits for the beat in flight, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.pending = false;
    await this.inFlight;
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = this.beat();
  }

  private async beat(): Promise<void> {
    try {
      await this.options.send();
    } catch (error) {
      this.options.onError(error);
    }
    if (this.pending && !this.stopped) {
      this.pending = false;
      await this.beat();
      return;
    }
    this.inFlight = undefined;
  }
}
