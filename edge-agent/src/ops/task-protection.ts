import type { Logger } from "pino";

/** ECS caps a protection's expiry at 48 hours. */
const MAX_EXPIRY_MINUTES = 2880;

export interface TaskProtectionOptions {
  /** The task's ECS agent endpoint (`$ECS_AGENT_URI`, set by ECS in every task). */
  agentUri: string;
  logger: Logger;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Keeps an ECS task protected from scale-in while it runs steps: the first
 * running step enables protection, the last one to finish disables it, so an
 * idle pool scales to zero and a busy task is never stopped mid-step. Calls
 * go one at a time and in order; a failed call is logged, never thrown (a
 * step must not fail because its task could not be protected).
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html
 */
export class TaskProtection {
  private readonly running = new Map<string, number>();
  private protectedUntilMinutes = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TaskProtectionOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** A step started; protection covers its whole timeout (plus a margin for reporting). */
  acquire(token: string, timeoutSeconds: number): void {
    const minutes = Math.min(MAX_EXPIRY_MINUTES, Math.ceil(timeoutSeconds / 60) + 10);
    this.running.set(token, minutes);
    if (this.running.size === 1 || minutes > this.protectedUntilMinutes) {
      this.protectedUntilMinutes = minutes;
      this.send({ ProtectionEnabled: true, ExpiresInMinutes: minutes });
    }
  }

  /** A step finished (answered or handed back). */
  release(token: string): void {
    if (!this.running.delete(token) || this.running.size > 0) return;
    this.protectedUntilMinutes = 0;
    this.send({ ProtectionEnabled: false });
  }

  /** Resolves once every call made so far has returned. */
  settled(): Promise<void> {
    return this.chain;
  }

  private send(body: { ProtectionEnabled: boolean; ExpiresInMinutes?: number }): void {
    const url = `${this.options.agentUri.replace(/\/+$/, "")}/task-protection/v1/state`;
    this.chain = this.chain.then(async () => {
      try {
        const response = await this.fetch(url, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        // The endpoint answers 200 with a `failure` or `error` member when ECS refused.
        if (!response.ok || /"(failure|error)"/.test(text)) {
          this.options.logger.warn(
            { status: response.status, body: text.slice(0, 500), request: body },
            "ECS task protection was not updated",
          );
        } else {
          this.options.logger.debug({ request: body }, "ECS task protection updated");
        }
      } catch (error) {
        this.options.logger.warn({ err: error, request: body }, "could not reach the ECS agent endpoint");
      }
    });
  }
}
