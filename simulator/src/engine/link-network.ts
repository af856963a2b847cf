import type { EventQueue } from "./event-queue.ts";
import { PairHeap } from "./pair-heap.ts";
import type { ModelLink } from "./sim-model.ts";

/**
 * Transfers over links. Transfers that share a link share its bandwidth
 * equally (processor sharing, as in SimGrid's flow model); each direction of
 * a link has its own bandwidth. A transfer arrives one link latency after its
 * last byte left.
 *
 * Equal sharing means every active transfer on a link has moved the same
 * bytes since it joined, so each link keeps one "virtual bytes" clock and a
 * heap of the clock readings at which its transfers finish: a join or a leave
 * costs O(log k) and a link has one pending event, however many transfers
 * share it.
 */
export class LinkNetwork {
  /** Bytes each active transfer has moved since the link's clock started. */
  private readonly virtualBytes: Float64Array;
  private readonly lastUpdate: Float64Array;
  private readonly active: Int32Array;
  private readonly gen: Int32Array;
  private readonly finishing: PairHeap[];
  readonly bytesMoved: Float64Array;
  private readonly trLink: number[] = [];
  private readonly trBytes: number[] = [];
  /** Caller's tag of each transfer, e.g. which data it carries where. */
  readonly tag: number[] = [];

  constructor(
    private readonly links: readonly ModelLink[],
    private readonly queue: EventQueue,
    private readonly drainedEvent: number,
    private readonly arrivedEvent: number,
  ) {
    this.virtualBytes = new Float64Array(links.length);
    this.lastUpdate = new Float64Array(links.length);
    this.active = new Int32Array(links.length);
    this.gen = new Int32Array(links.length);
    this.finishing = links.map(() => new PairHeap());
    this.bytesMoved = new Float64Array(links.length);
  }

  /** Starts moving `bytes` over `link` at `now`; the arrival event carries the returned transfer id. */
  start(link: number, bytes: number, tag: number, now: number): number {
    const id = this.trLink.length;
    this.trLink.push(link);
    this.trBytes.push(bytes);
    this.tag.push(tag);
    this.advance(link, now);
    this.finishing[link]!.push(this.virtualBytes[link]! + bytes, id);
    this.active[link]!++;
    this.reschedule(link, now);
    return id;
  }

  /** Handles the link's drained event (`a` = link, `b` = generation); stale generations are ignored. */
  drained(link: number, gen: number, now: number): void {
    if (this.gen[link] !== gen) return;
    this.advance(link, now);
    const heap = this.finishing[link]!;
    const clock = this.virtualBytes[link]!;
    // Rounding slack: a residue too small for the byte clock, or too short to move the time
    // (now + remaining == now), would otherwise re-trigger this event forever.
    const rate = this.links[link]!.bytesPerSecond / Math.max(1, this.active[link]!);
    const slack = Math.max(1e-6, clock * 1e-12, rate * Math.abs(now) * 8 * Number.EPSILON);
    while (heap.size > 0 && heap.peekKey()! <= clock + slack) {
      const id = heap.pop();
      this.active[link]!--;
      this.bytesMoved[link]! += this.trBytes[id]!;
      this.queue.push(now + this.links[link]!.latencySeconds, this.arrivedEvent, id, 0);
    }
    this.reschedule(link, now);
  }

  private advance(link: number, now: number): void {
    const elapsed = now - this.lastUpdate[link]!;
    this.lastUpdate[link] = now;
    const k = this.active[link]!;
    if (k > 0 && elapsed > 0) this.virtualBytes[link]! += (this.links[link]!.bytesPerSecond / k) * elapsed;
  }

  private reschedule(link: number, now: number): void {
    const gen = ++this.gen[link]!;
    const k = this.active[link]!;
    if (k === 0) {
      // An idle link restarts its clock, which keeps the readings small and exact.
      this.virtualBytes[link] = 0;
      return;
    }
    const left = Math.max(0, this.finishing[link]!.peekKey()! - this.virtualBytes[link]!);
    this.queue.push(now + (left * k) / this.links[link]!.bytesPerSecond, this.drainedEvent, link, gen);
  }
}
