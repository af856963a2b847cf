import { isFinalAttempt, retryDelaySeconds } from "@ferry/dsl-compiler/contract";
import { EventQueue } from "./event-queue.ts";
import { LinkNetwork } from "./link-network.ts";
import { Prng } from "./prng.ts";
import { resourceName, speedOf } from "./resources.ts";
import { runCost } from "./run-cost.ts";
import type { AttemptOutcome, AttemptTrace, FailureReason, RunResult, RunStatus } from "./run-result.ts";
import { sampleDispatchLatency } from "./sample.ts";
import {
  EXEC_AGENT,
  EXEC_FARGATE,
  EXEC_HTTP,
  EXEC_LAMBDA,
  type ModelStep,
  type SimModel,
} from "./sim-model.ts";
import { WorkerPools } from "./worker-pools.ts";

const EV_DISPATCH = 0;
const EV_STAGE = 1;
const EV_END = 2;
const EV_FAIL_DETECTED = 3;
const EV_DRAINED = 4;
const EV_ARRIVED = 5;
const EV_DEVICE_DOWN = 6;
const EV_DEVICE_UP = 7;

const OUTCOME_OK = 0;
const OUTCOME_TIMEOUT = 1;

/** Data of a step is absent from a site, on its way, or there. */
const DATA_ABSENT = 0;
const DATA_MOVING = 1;
const DATA_HERE = 2;

export interface RunOptions {
  /** Record every attempt for the Gantt chart. @default false */
  trace?: boolean;
}

/**
 * Simulates one execution of the workflow. Steps become ready when their
 * dependencies succeed, reach their site's queue after the dispatch latency
 * (Step Functions transition + SQS receive + the uplink), wait for a slot,
 * Lambda environment or Fargate worker, stage remote inputs over links,
 * compute, and retry with the step's policy when a device fails under them
 * or they time out. Deterministic for a given `seed`.
 */
export function simulateRun(model: SimModel, seed: number, options: RunOptions = {}): RunResult {
  return new Run(model, seed, options.trace ?? false).execute();
}

class Run {
  private readonly rng: Prng;
  private readonly queue = new EventQueue();
  private readonly network: LinkNetwork;
  private readonly pools: WorkerPools;
  private readonly nSites: number;
  private status: RunStatus | "running" = "running";
  private now = 0;
  private lastFinish = 0;
  private stepsDone = 0;
  private failedStep: string | undefined;
  private failedReason: FailureReason | undefined;
  private deviceEventsQueued = 0;
  private devicesDown = 0;
  private attempts = 0;
  private retries = 0;
  private agentOrWorkerAttempts = 0;

  // Per step.
  private readonly depsLeft: Int32Array;
  private readonly itemsNext: Int32Array;
  private readonly itemsDone: Int32Array;
  private readonly inflight: Int32Array;
  /** `data[step * nSites + site]`: where each step's output is. */
  private readonly data: Uint8Array;
  private readonly waiters = new Map<number, number[]>();
  private readonly deadLinks = new Set<number>();
  private readonly unreachable = new Set<number>();

  // Per unit: one item of one step, across its attempts.
  private readonly uStep: number[] = [];
  private readonly uItem: number[] = [];
  private readonly uAttempt: number[] = [];
  private readonly uGen: number[] = [];
  private readonly uReadyAt: number[] = [];
  private readonly uStartAt: number[] = [];
  private readonly uComputeAt: number[] = [];
  private readonly uResource: number[] = [];
  private readonly uPending: number[] = [];
  private readonly uOutcome: number[] = [];

  // Per site: queues of units (one per executor), and occupancy.
  private readonly queues: number[][];
  private readonly queueHeads: Int32Array;
  private readonly running: Int32Array;
  private readonly peak: Int32Array;
  private readonly busy: Float64Array;
  private readonly freeSlotsAtSite: Int32Array;
  /** When each site's start loop is next free. */
  private readonly loopFree: Float64Array;

  // Per device.
  private readonly freeSlots: Int32Array;
  private readonly freeMemory: Float64Array;
  private readonly freeGpu: Int32Array;
  private readonly up: Uint8Array;
  private readonly onDevice: number[][];

  private readonly trace: AttemptTrace[] | undefined;

  constructor(
    private readonly model: SimModel,
    seed: number,
    trace: boolean,
  ) {
    this.rng = new Prng(seed);
    this.nSites = model.sites.length;
    this.network = new LinkNetwork(model.links, this.queue, EV_DRAINED, EV_ARRIVED);
    this.pools = new WorkerPools(model, this.rng);
    const n = model.steps.length;
    this.depsLeft = Int32Array.from(model.steps, (s) => s.deps.length);
    this.itemsNext = new Int32Array(n);
    this.itemsDone = new Int32Array(n);
    this.inflight = new Int32Array(n);
    this.data = new Uint8Array(n * this.nSites);
    this.queues = Array.from({ length: this.nSites * 4 }, () => []);
    this.queueHeads = new Int32Array(this.nSites * 4);
    this.running = new Int32Array(this.nSites);
    this.peak = new Int32Array(this.nSites);
    this.busy = new Float64Array(this.nSites);
    this.freeSlotsAtSite = Int32Array.from(model.sites, (s) => s.slotCapacity);
    this.loopFree = new Float64Array(this.nSites);
    this.freeSlots = Int32Array.from(model.devices, (d) => d.slots);
    this.freeMemory = Float64Array.from(model.devices, (d) => d.memoryMiB);
    this.freeGpu = Int32Array.from(model.devices, (d) => d.gpu);
    this.up = new Uint8Array(model.devices.length).fill(1);
    this.onDevice = model.devices.map(() => []);
    this.trace = trace ? [] : undefined;
  }

  execute(): RunResult {
    for (const step of this.model.steps) if (step.deps.length === 0) this.stepReady(step, 0);
    for (const device of this.model.devices) {
      if (Number.isFinite(device.mtbfSeconds))
        this.pushDeviceEvent(this.rng.exponential(device.mtbfSeconds), EV_DEVICE_DOWN, device.index);
    }
    if (this.model.steps.length === 0) this.status = "succeeded";
    const q = this.queue;
    while (this.status === "running" && q.pop()) {
      this.now = q.time;
      this.handle(q.kind, q.a, q.b);
      // Only device failures and repairs left, with every device up: nothing can move any more.
      if (this.status === "running" && q.size === this.deviceEventsQueued && this.devicesDown === 0)
        this.status = "blocked";
    }
    if (this.status === "running") this.status = "blocked";
    return this.result();
  }

  private handle(kind: number, a: number, b: number): void {
    switch (kind) {
      case EV_DISPATCH:
        if (this.uGen[a] === b) this.enqueue(a);
        return;
      case EV_STAGE:
        if (this.uGen[a] === b) this.stage(a);
        return;
      case EV_END:
        if (this.uGen[a] === b) this.attemptEnded(a);
        return;
      case EV_FAIL_DETECTED:
        if (this.uGen[a] === b) this.attemptFailed(a, "device-failed");
        return;
      case EV_DRAINED:
        this.network.drained(a, b, this.now);
        return;
      case EV_ARRIVED:
        this.dataArrived(this.network.tag[a]!);
        return;
      case EV_DEVICE_DOWN:
        this.deviceEventsQueued--;
        this.deviceDown(a);
        return;
      case EV_DEVICE_UP:
        this.deviceEventsQueued--;
        this.deviceUp(a);
        return;
    }
  }

  private stepReady(step: ModelStep, at: number): void {
    while (this.itemsNext[step.index]! < step.items && this.inflight[step.index]! < step.maxConcurrency) {
      const u = this.uStep.length;
      this.uStep.push(step.index);
      this.uItem.push(this.itemsNext[step.index]!++);
      this.uAttempt.push(1);
      this.uGen.push(0);
      this.uReadyAt.push(0);
      this.uStartAt.push(0);
      this.uComputeAt.push(0);
      this.uResource.push(-1);
      this.uPending.push(0);
      this.uOutcome.push(OUTCOME_OK);
      this.inflight[step.index]!++;
      this.dispatch(u, at);
    }
  }

  /** Sends the unit's message: it reaches the site's workers after the dispatch latency. */
  private dispatch(u: number, at: number): void {
    const latency = sampleDispatchLatency(this.model, this.model.steps[this.uStep[u]!]!, this.rng);
    this.uReadyAt[u] = at + latency;
    this.queue.push(at + latency, EV_DISPATCH, u, this.uGen[u]!);
  }

  private enqueue(u: number): void {
    const step = this.model.steps[this.uStep[u]!]!;
    if (!this.model.sites[step.site]!.controlReachable) {
      this.unreachable.add(step.site);
      return;
    }
    if (step.executor === EXEC_HTTP) {
      this.startAttempt(u, -1, 0);
      return;
    }
    this.queues[step.site * 4 + step.executor]!.push(u);
    this.tryStart(step.site, step.executor);
  }

  private tryStart(site: number, executor: number): void {
    const key = site * 4 + executor;
    const list = this.queues[key]!;
    let head = this.queueHeads[key]!;
    if (executor === EXEC_LAMBDA || executor === EXEC_FARGATE) {
      while (head < list.length) {
        const step = this.model.steps[this.uStep[list[head]!]!]!;
        const grant =
          executor === EXEC_LAMBDA
            ? this.pools.acquireLambda(step, this.now)
            : this.pools.acquireFargate(site, this.now);
        if (!grant) break;
        this.startAttempt(list[head++]!, grant.resource, grant.startDelaySeconds);
      }
    } else {
      // Edge: the first queued unit that fits a free device goes first (SQS hands out messages roughly in order).
      for (let i = head; i < list.length && this.freeSlotsAtSite[site]! > 0; i++) {
        const u = list[i]!;
        if (u < 0) continue;
        const device = this.pickDevice(site, this.model.steps[this.uStep[u]!]!);
        if (device < 0) continue;
        list[i] = -1;
        this.startAttempt(u, device, 0);
      }
      while (head < list.length && list[head]! < 0) head++;
    }
    if (head > 1024 && head * 2 > list.length) {
      list.splice(0, head);
      head = 0;
    }
    this.queueHeads[key] = head;
  }

  /** The fastest free device that fits the step; ties go to the first listed. */
  private pickDevice(site: number, step: ModelStep): number {
    let best = -1;
    for (const device of this.model.sites[site]!.devices) {
      const d = device.index;
      if (
        !this.up[d] ||
        this.freeSlots[d]! <= 0 ||
        this.freeMemory[d]! < step.memoryMiB ||
        this.freeGpu[d]! < step.gpu
      )
        continue;
      if (best < 0 || device.speed > this.model.devices[best]!.speed) best = d;
    }
    return best;
  }

  private startAttempt(u: number, resource: number, startDelaySeconds: number): void {
    const step = this.model.steps[this.uStep[u]!]!;
    this.uStartAt[u] = this.now;
    this.uResource[u] = resource;
    this.attempts++;
    if (step.executor !== EXEC_HTTP) this.agentOrWorkerAttempts++;
    const site = step.site;
    if (++this.running[site]! > this.peak[site]!) this.peak[site] = this.running[site]!;
    if (step.executor === EXEC_AGENT) {
      this.freeSlots[resource]!--;
      this.freeMemory[resource]! -= step.memoryMiB;
      this.freeGpu[resource]! -= step.gpu;
      this.freeSlotsAtSite[site]!--;
      this.onDevice[resource]!.push(u);
    }
    if (startDelaySeconds > 0) this.queue.push(this.now + startDelaySeconds, EV_STAGE, u, this.uGen[u]!);
    else this.stage(u);
  }

  /** Moves the step's remote inputs to its site; computes once all are here. */
  private stage(u: number): void {
    const step = this.model.steps[this.uStep[u]!]!;
    let pending = 0;
    for (const producer of step.remoteInputs) {
      const key = producer * this.nSites + step.site;
      const state = this.data[key]!;
      if (state === DATA_HERE) continue;
      if (state === DATA_ABSENT) {
        this.data[key] = DATA_MOVING;
        const from = this.model.steps[producer]!.site;
        const link = this.model.linkIndex[from * this.nSites + step.site]!;
        if (link < 0) this.deadLinks.add(from * this.nSites + step.site);
        else this.network.start(link, this.model.steps[producer]!.outputBytes, key, this.now);
      }
      const list = this.waiters.get(key);
      if (list) list.push(u, this.uGen[u]!);
      else this.waiters.set(key, [u, this.uGen[u]!]);
      pending++;
    }
    this.uPending[u] = pending;
    if (pending === 0) this.compute(u);
  }

  private dataArrived(key: number): void {
    this.data[key] = DATA_HERE;
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (let i = 0; i < list.length; i += 2) {
      const u = list[i]!;
      if (this.uGen[u] === list[i + 1] && --this.uPending[u]! === 0) this.compute(u);
    }
  }

  private compute(u: number): void {
    const step = this.model.steps[this.uStep[u]!]!;
    this.uComputeAt[u] = this.now;
    const site = this.model.sites[step.site]!;
    let begin = this.now;
    if (step.executor === EXEC_AGENT && site.startSerialSeconds + site.startFixedSeconds > 0) {
      // One start at a time per site: a burst of ready steps queues behind the loop.
      begin = Math.max(begin, this.loopFree[step.site]!) + site.startSerialSeconds;
      this.loopFree[step.site] = begin;
      begin += site.startFixedSeconds;
    }
    const end = begin + step.durationSeconds / speedOf(this.model, step, this.uResource[u]!);
    // The task state's timeout runs from when its message was sent.
    const deadline = this.uReadyAt[u]! + step.timeoutSeconds;
    this.uOutcome[u] = end > deadline ? OUTCOME_TIMEOUT : OUTCOME_OK;
    this.queue.push(end > deadline ? Math.max(this.now, deadline) : end, EV_END, u, this.uGen[u]!);
  }

  private attemptEnded(u: number): void {
    const step = this.model.steps[this.uStep[u]!]!;
    const ok = this.uOutcome[u] === OUTCOME_OK;
    this.release(u, ok ? "succeeded" : "timed-out");
    if (ok) this.itemDone(step);
    else this.attemptFailed(u, "timed-out");
    if (step.executor !== EXEC_HTTP) this.tryStart(step.site, step.executor);
  }

  /** Frees what the attempt held and accounts for its time. */
  private release(u: number, outcome: AttemptOutcome): void {
    const step = this.model.steps[this.uStep[u]!]!;
    const resource = this.uResource[u]!;
    const held = this.now - this.uStartAt[u]!;
    this.running[step.site]!--;
    if (step.executor !== EXEC_HTTP) this.busy[step.site]! += held;
    if (step.executor === EXEC_AGENT) {
      if (this.up[resource]) {
        this.freeSlots[resource]!++;
        this.freeMemory[resource]! += step.memoryMiB;
        this.freeGpu[resource]! += step.gpu;
        this.freeSlotsAtSite[step.site]!++;
      }
      const list = this.onDevice[resource]!;
      list.splice(list.indexOf(u), 1);
    } else if (step.executor === EXEC_LAMBDA) this.pools.releaseLambda(step, held, this.now);
    else if (step.executor === EXEC_FARGATE) this.pools.releaseFargate(step.site, resource, this.now);
    this.trace?.push({
      step: step.name,
      item: this.uItem[u]!,
      items: step.items,
      attempt: this.uAttempt[u]!,
      site: this.model.sites[step.site]!.name,
      resource: resourceName(this.model, step, resource),
      startSeconds: this.uStartAt[u]!,
      computeStartSeconds:
        this.uPending[u]! > 0 || this.uComputeAt[u]! < this.uStartAt[u]! ? this.now : this.uComputeAt[u]!,
      endSeconds: this.now,
      outcome,
    });
  }

  private attemptFailed(u: number, reason: FailureReason): void {
    const step = this.model.steps[this.uStep[u]!]!;
    const attempt = this.uAttempt[u]!;
    if (isFinalAttempt(attempt, step.maxAttempts)) {
      this.status = "failed";
      this.failedStep = step.name;
      this.failedReason = reason;
      return;
    }
    let delay = retryDelaySeconds(step, attempt);
    if (step.jitterFull) delay *= this.rng.next();
    this.uAttempt[u] = attempt + 1;
    this.uGen[u]!++;
    this.uPending[u] = 0;
    this.retries++;
    this.dispatch(u, this.now + delay);
  }

  private itemDone(step: ModelStep): void {
    this.itemsDone[step.index]!++;
    this.inflight[step.index]!--;
    if (this.itemsDone[step.index]! < step.items) {
      this.stepReady(step, this.now);
      return;
    }
    this.stepsDone++;
    this.lastFinish = this.now;
    this.data[step.index * this.nSites + step.site] = DATA_HERE;
    if (this.stepsDone === this.model.steps.length) {
      this.status = "succeeded";
      return;
    }
    for (const d of step.dependents)
      if (--this.depsLeft[d]! === 0) this.stepReady(this.model.steps[d]!, this.now);
  }

  private deviceDown(d: number): void {
    const device = this.model.devices[d]!;
    this.up[d] = 0;
    this.devicesDown++;
    this.freeSlotsAtSite[device.site]! -= this.freeSlots[d]!;
    for (const u of [...this.onDevice[d]!]) {
      const step = this.model.steps[this.uStep[u]!]!;
      this.release(u, "device-failed");
      this.uGen[u]!++;
      // Step Functions learns of the loss when the heartbeat, or else the task timeout, expires.
      const detected = Math.min(this.now + step.heartbeatSeconds, this.uReadyAt[u]! + step.timeoutSeconds);
      this.queue.push(Math.max(this.now, detected), EV_FAIL_DETECTED, u, this.uGen[u]!);
    }
    this.pushDeviceEvent(this.now + this.rng.exponential(device.mttrSeconds), EV_DEVICE_UP, d);
  }

  private deviceUp(d: number): void {
    const device = this.model.devices[d]!;
    this.up[d] = 1;
    this.devicesDown--;
    this.freeSlots[d] = device.slots;
    this.freeMemory[d] = device.memoryMiB;
    this.freeGpu[d] = device.gpu;
    this.freeSlotsAtSite[device.site]! += device.slots;
    this.pushDeviceEvent(this.now + this.rng.exponential(device.mtbfSeconds), EV_DEVICE_DOWN, d);
    this.tryStart(device.site, EXEC_AGENT);
  }

  private pushDeviceEvent(time: number, kind: number, device: number): void {
    this.deviceEventsQueued++;
    this.queue.push(time, kind, device, 0);
  }

  private result(): RunResult {
    const model = this.model;
    const makespan = this.status === "succeeded" ? this.lastFinish : this.now;
    const result: RunResult = {
      status: this.status as RunStatus,
      makespanSeconds: makespan,
      attempts: this.attempts,
      retries: this.retries,
      lambdaColdStarts: this.pools.lambdaColdStarts,
      fargateLaunches: this.pools.fargateLaunches,
      siteBusySeconds: [...this.busy],
      sitePeakConcurrency: [...this.peak],
      linkBytes: [...this.network.bytesMoved],
      cost: runCost(model, {
        makespanSeconds: makespan,
        attempts: this.attempts,
        queuedAttempts: this.agentOrWorkerAttempts,
        lambdaGbSeconds: this.pools.lambdaGbSeconds,
        lambdaInvocations: this.pools.lambdaInvocations,
        fargateWorkerSeconds: this.pools.fargateBilledSeconds(this.now),
        linkBytes: this.network.bytesMoved,
      }),
    };
    if (this.failedStep !== undefined) result.failedStep = this.failedStep;
    if (this.failedReason !== undefined) result.failedReason = this.failedReason;
    if (this.status === "blocked") {
      const waiting = model.steps
        .filter((s) => this.itemsDone[s.index]! < s.items && this.depsLeft[s.index] === 0)
        .map((s) => s.name);
      result.blocked = {
        waitingSteps: waiting,
        deadLinks: [...this.deadLinks].map((k) => ({
          from: model.sites[Math.floor(k / this.nSites)]!.name,
          to: model.sites[k % this.nSites]!.name,
        })),
        unreachableSites: [...this.unreachable].map((s) => model.sites[s]!.name),
      };
    }
    if (this.trace) result.trace = this.trace;
    return result;
  }
}
