import type { Logger } from "@ferry/functions/worker";

/** A worker's lifecycle; transitions only move forward. */
export type WorkerState = "STARTING" | "RUNNING" | "DRAINING" | "STOPPED";

const ORDER: Record<WorkerState, number> = { STARTING: 0, RUNNING: 1, DRAINING: 2, STOPPED: 3 };

/** Holds the state, logs each transition and tells listeners. */
export class Lifecycle {
  private current: WorkerState = "STARTING";
  private readonly listeners: Array<(state: WorkerState) => void> = [];

  constructor(private readonly logger: Logger) {
    this.logger.info({ state: this.current }, "worker state STARTING");
  }

  get state(): WorkerState {
    return this.current;
  }

  /** Moves to `next` if it is later than the current state; returns whether it moved. */
  to(next: WorkerState): boolean {
    if (ORDER[next] <= ORDER[this.current]) return false;
    const previous = this.current;
    this.current = next;
    this.logger.info({ state: next, previous }, `worker state ${previous} → ${next}`);
    for (const listener of this.listeners) listener(next);
    return true;
  }

  onChange(listener: (state: WorkerState) => void): void {
    this.listeners.push(listener);
  }
}
