import { AgentError } from "../errors.ts";
import type { Completion } from "../ports/completion.ts";

/** One answer given for a task token. */
export type CompletionRecord =
  | { kind: "success"; token: string; output: unknown }
  | { kind: "failure"; token: string; error: string; cause: string };

export interface CallbackCompletionOptions {
  /** Receives every success and failure, once per token. */
  onComplete(record: CompletionRecord): void;
  /** Called on each heartbeat; throw `AgentError("TASK_GONE")` to stop the step. */
  onHeartbeat?(token: string): void;
}

/**
 * A {@link Completion} that hands answers to a callback: the embedded runtime
 * resolves its pending Task states with it. A token answered once is gone:
 * later answers and heartbeats reject with `TASK_GONE`, as Step Functions does.
 */
export class CallbackCompletion implements Completion {
  private readonly answered = new Set<string>();
  private readonly cancelled = new Set<string>();

  constructor(private readonly options: CallbackCompletionOptions) {}

  /** Makes the token unanswerable (e.g. the task timed out): the next heartbeat stops the step. */
  cancel(token: string): void {
    this.cancelled.add(token);
  }

  async success(token: string, output: unknown): Promise<void> {
    this.settle(token);
    this.options.onComplete({ kind: "success", token, output });
  }

  async failure(token: string, error: string, cause: string): Promise<void> {
    this.settle(token);
    this.options.onComplete({ kind: "failure", token, error, cause });
  }

  async heartbeat(token: string): Promise<void> {
    this.check(token);
    this.options.onHeartbeat?.(token);
  }

  private settle(token: string): void {
    this.check(token);
    this.answered.add(token);
  }

  private check(token: string): void {
    if (this.answered.has(token) || this.cancelled.has(token)) {
      throw new AgentError("TASK_GONE", `task token ${token.slice(0, 24)} is no longer answerable`);
    }
  }
}

/** A {@link CallbackCompletion} that keeps every answer and heartbeat, for tests. */
export class RecordingCompletion extends CallbackCompletion {
  readonly records: CompletionRecord[] = [];
  readonly heartbeats: string[] = [];
  private readonly waiters: Array<{ count: number; resolve(): void }> = [];

  constructor() {
    super({
      onComplete: (record) => {
        this.records.push(record);
        for (const waiter of [...this.waiters]) {
          if (this.records.length >= waiter.count) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      },
      onHeartbeat: (token) => this.heartbeats.push(token),
    });
  }

  /** Resolves once at least `count` answers were recorded. */
  waitFor(count: number): Promise<void> {
    if (this.records.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  forToken(token: string): CompletionRecord[] {
    return this.records.filter((r) => r.token === token);
  }
}
