import { Pulse } from "../worker/pulse.ts";
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
 * Sends `SendTaskHeartbeat` every `intervalMs` while a step runs, on the
 * workers' one {@link Pulse}, and stops beating once the task is gone.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  let gone = false;
  const pulse: Pulse = new Pulse({
    intervalMs: options.intervalMs,
    send: () => options.beat(),
    onError: (error) => {
      if (classifyTaskCallError(error) !== "gone") return options.onError(errorText(error));
      if (gone) return;
      gone = true;
      void pulse.stop();
      options.onGone(errorText(error));
    },
  }).start();
  return { stop: () => pulse.stop() };
}
