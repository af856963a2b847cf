import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelayMs, sleep } from "./backoff.ts";

describe("backoffDelayMs", () => {
  it("grows exponentially up to the cap, jittered below it", () => {
    expect(backoffDelayMs(0, { baseMs: 100, maxMs: 1000 }, () => 1)).toBe(100);
    expect(backoffDelayMs(3, { baseMs: 100, maxMs: 1000 }, () => 1)).toBe(800);
    expect(backoffDelayMs(10, { baseMs: 100, maxMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelayMs(10, { baseMs: 100, maxMs: 1000 }, () => 0.25)).toBe(250);
  });

  it("spreads workers that failed together over the whole window (full jitter)", () => {
    const delays = new Set(
      Array.from({ length: 200 }, () => backoffDelayMs(4, { baseMs: 100, maxMs: 10_000 })),
    );
    expect(Math.max(...delays)).toBeLessThanOrEqual(1600);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(delays.size).toBeGreaterThan(50);
  });

  it("never overflows on a long outage", () => {
    expect(backoffDelayMs(5000, { baseMs: 200, maxMs: 30_000 }, () => 1)).toBe(30_000);
  });
});

describe("sleep", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after the delay, or at once when its signal aborts", async () => {
    let slept = false;
    void sleep(1000).then(() => {
      slept = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(slept).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(slept).toBe(true);
    const abort = new AbortController();
    let woke = false;
    void sleep(60_000, abort.signal).then(() => {
      woke = true;
    });
    abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(woke).toBe(true);
  });
});
