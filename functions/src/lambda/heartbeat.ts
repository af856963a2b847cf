import { classifyTaskCallError, errorText } from "./task-client.ts";

export interface HeartbeatOptions {
  intervalMs: number;
  beat: () => Promise<void>;
  /** Called once when Step Functions says the task is over; the caller stops the handler. */
  onGone: (reason: string) => void;
  /** Called for any other failed beat; the next beat still runs. */
  onError: (reason: string) => void;
}

export interface Heartbeat {
  /** Stops the timer and waits for a beat in flight. */
  stop(): Promise<void>;
}

/**
 * Sends `SendTaskHeartbeat` every `intervalMs` while a step runs. At most one
 * beat is in flight: a tick that finds one still running is skipped.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (inFlight || stopped) return;
    inFlight = options
      .beat()
      .catch((error: unknown) => {
        if (classifyTaskCallError(error) === "gone") {
          stopped = true;
          clearInterval(timer);
          options.onGone(errorText(error));
        } else options.onError(errorText(error));
      })
      .finally(() => {
        inFlight = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
