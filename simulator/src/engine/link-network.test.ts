import { describe, expect, it } from "vitest";
import { EventQueue } from "./event-queue.ts";
import { LinkNetwork } from "./link-network.ts";
import type { ModelLink } from "./sim-model.ts";

const DRAINED = 1;
const ARRIVED = 2;

/** Runs the queue to exhaustion and returns each transfer's arrival time. */
function drive(
  queue: EventQueue,
  network: LinkNetwork,
  starts: Array<{ at: number; bytes: number }>,
): number[] {
  const arrivals: number[] = [];
  const pending = [...starts].sort((a, b) => a.at - b.at);
  const ids = new Map<number, number>();
  for (;;) {
    const next = pending[0];
    if (next && (queue.size === 0 || next.at <= peekTime(queue))) {
      pending.shift();
      ids.set(network.start(0, next.bytes, starts.indexOf(next), next.at), starts.indexOf(next));
      continue;
    }
    if (!queue.pop()) break;
    if (queue.kind === DRAINED) network.drained(queue.a, queue.b, queue.time);
    else arrivals[ids.get(queue.a)!] = queue.time;
  }
  return arrivals;
}

function peekTime(queue: EventQueue): number {
  // EventQueue has no peek; events here are only drained/arrived, so re-pushing keeps order.
  queue.pop();
  const { time, kind, a, b } = queue;
  queue.push(time, kind, a, b);
  return time;
}

const link = (latencySeconds = 0): ModelLink => ({
  index: 0,
  from: 0,
  to: 1,
  bytesPerSecond: 1_000_000,
  latencySeconds,
  pricePerGB: 0,
});

describe("LinkNetwork — equal sharing", () => {
  it("Given a transfer joining halfway, Then both progress at half rate until one ends", () => {
    const queue = new EventQueue();
    const network = new LinkNetwork([link()], queue, DRAINED, ARRIVED);
    // A: 2 MB from 0 s alone until 0.5 s (0.5 MB moved); then both at 0.5 MB/s: B's 1 MB ends at 2.5 s,
    // when A has moved 1.5 MB; A's last 0.5 MB at full rate ends at 3 s.
    const arrivals = drive(queue, network, [
      { at: 0, bytes: 2_000_000 },
      { at: 0.5, bytes: 1_000_000 },
    ]);
    expect(arrivals[0]).toBeCloseTo(3, 9);
    expect(arrivals[1]).toBeCloseTo(2.5, 9);
    expect(network.bytesMoved[0]).toBe(3_000_000);
  });

  it("adds the link latency once, after the last byte", () => {
    const queue = new EventQueue();
    const network = new LinkNetwork([link(0.2)], queue, DRAINED, ARRIVED);
    expect(drive(queue, network, [{ at: 1, bytes: 500_000 }])[0]).toBeCloseTo(1.7, 9);
  });

  it("finishes tiny transfers late in a long run (no rounding stall)", () => {
    const queue = new EventQueue();
    const network = new LinkNetwork([link()], queue, DRAINED, ARRIVED);
    const starts = Array.from({ length: 50 }, (_, i) => ({ at: 1e9 + i * 1e-7, bytes: 1 + (i % 3) }));
    const arrivals = drive(queue, network, starts);
    expect(arrivals.filter((t) => t !== undefined)).toHaveLength(50);
  });
});
