import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Pulse } from "./pulse.ts";

describe("Pulse", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps at most one beat in flight and folds ticks during it into one beat right after (newest wins)", async () => {
    // Given a beat that takes 3.5 intervals
    let started = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const pulse = new Pulse({
      intervalMs: 1000,
      send: async () => {
        started++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 3500));
        inFlight--;
      },
      onError: () => {},
    }).start();
    // When four ticks pass during the first beat
    await vi.advanceTimersByTimeAsync(4000);
    // Then only the first beat was sent, and the missed ticks make exactly one more, at once
    expect(started).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(started).toBe(2);
    expect(maxInFlight).toBe(1);
    const stopping = pulse.stop();
    await vi.advanceTimersByTimeAsync(3500);
    await stopping;
  });

  it("flushes the beat in flight before stop() resolves, and sends none after", async () => {
    let finished = 0;
    const pulse = new Pulse({
      intervalMs: 1000,
      send: async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        finished++;
      },
      onError: () => {},
    }).start();
    await vi.advanceTimersByTimeAsync(1200);
    let stopped = false;
    const stopping = pulse.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(300);
    await stopping;
    expect(finished).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(finished).toBe(1);
  });

  it("reports a failed beat and keeps beating", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const pulse = new Pulse({
      intervalMs: 1000,
      send: async () => {
        if (++calls === 1) throw new Error("throttled");
      },
      onError: (error) => errors.push(error),
    }).start();
    await vi.advanceTimersByTimeAsync(3000);
    await pulse.stop();
    expect(calls).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual(["throttled"]);
  });

  it("does not beat when the step has no heartbeat (interval 0)", async () => {
    let calls = 0;
    const pulse = new Pulse({ intervalMs: 0, send: async () => void calls++, onError: () => {} }).start();
    await vi.advanceTimersByTimeAsync(60_000);
    await pulse.stop();
    expect(calls).toBe(0);
  });
});
