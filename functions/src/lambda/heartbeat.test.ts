import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHeartbeat } from "./heartbeat.ts";

describe("startHeartbeat", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("given a slow beat, when ticks pass, then at most one beat is in flight", async () => {
    let started = 0;
    const heartbeat = startHeartbeat({
      intervalMs: 1_000,
      beat: () => {
        started++;
        return new Promise((resolve) => setTimeout(resolve, 3_500));
      },
      onGone: () => {},
      onError: () => {},
    });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(started).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toBe(2);
    const stopped = heartbeat.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    await stopped;
    expect(started).toBe(2);
  });

  it("given a throttled beat, when ticks pass, then the error is reported and beats continue", async () => {
    const errors: string[] = [];
    let calls = 0;
    const heartbeat = startHeartbeat({
      intervalMs: 1_000,
      beat: async () => {
        calls++;
        if (calls === 1) throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
      },
      onGone: () => {},
      onError: (reason) => errors.push(reason),
    });
    await vi.advanceTimersByTimeAsync(2_000);
    await heartbeat.stop();
    expect(errors).toEqual(["ThrottlingException: slow down"]);
    expect(calls).toBe(2);
  });

  it("given TaskDoesNotExist, when a beat fails, then onGone fires once and beats stop", async () => {
    const gone: string[] = [];
    let calls = 0;
    startHeartbeat({
      intervalMs: 1_000,
      beat: async () => {
        calls++;
        throw Object.assign(new Error("gone"), { name: "TaskDoesNotExist" });
      },
      onGone: (reason) => gone.push(reason),
      onError: () => {},
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gone).toHaveLength(1);
    expect(calls).toBe(1);
  });
});
