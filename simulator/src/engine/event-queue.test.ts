import { describe, expect, it } from "vitest";
import { EventQueue } from "./event-queue.ts";
import { Prng, runSeed } from "./prng.ts";

describe("EventQueue", () => {
  it("pops by time, and events at the same time in push order", () => {
    const q = new EventQueue();
    q.push(5, 1, 50);
    q.push(1, 1, 10);
    q.push(5, 2, 51);
    q.push(3, 1, 30);
    q.push(5, 3, 52);
    const out: number[] = [];
    while (q.pop()) out.push(q.a);
    expect(out).toEqual([10, 30, 50, 51, 52]);
  });

  it("grows past its initial capacity and reuses slots", () => {
    const q = new EventQueue();
    const rng = new Prng(9);
    const times = Array.from({ length: 5000 }, () => rng.uniform(0, 100));
    times.forEach((t, i) => {
      q.push(t, 0, i);
    });
    const popped: number[] = [];
    while (q.pop()) popped.push(q.time);
    expect(popped).toEqual([...times].sort((a, b) => a - b));
    expect(q.size).toBe(0);
  });
});

describe("Prng", () => {
  it("repeats for a seed and stays in range", () => {
    const a = new Prng(123);
    const b = new Prng(123);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it("draws exponentials with the asked mean", () => {
    const rng = new Prng(5);
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += rng.exponential(10);
    expect(sum / 20000).toBeGreaterThan(9.5);
    expect(sum / 20000).toBeLessThan(10.5);
  });

  it("gives every run of a seed its own stream", () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => runSeed(1, i)));
    expect(seeds.size).toBe(1000);
    expect(runSeed(1, 0)).not.toBe(runSeed(2, 0));
  });
});
