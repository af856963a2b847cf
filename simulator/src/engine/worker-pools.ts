import { FARGATE_MIN_BILLED_SECONDS } from "../topology/service-defaults.ts";
import type { Prng } from "./prng.ts";
import { sampleLatency } from "./sample.ts";
import type { ModelStep, SimModel } from "./sim-model.ts";

/** What a pool grants: the worker (Fargate) and how long until it can stage inputs. */
export interface Grant {
  resource: number;
  startDelaySeconds: number;
}

/**
 * Lambda and Fargate capacity of the aws sites. Lambda: account concurrency
 * per site, one function per step, warm environments reused for
 * `keepWarmSeconds`, a cold start otherwise. Fargate: one worker pool per
 * site scaled on backlog up to `maxTasks`, each worker runs one step at a time
 * and is scaled in after `scaleInSeconds` idle.
 */
export class WorkerPools {
  lambdaColdStarts = 0;
  lambdaInvocations = 0;
  lambdaGbSeconds = 0;
  fargateLaunches = 0;
  private readonly lambdaRunning: Int32Array;
  /** Per step: times until which its idle environments stay warm, oldest first. */
  private readonly warm = new Map<number, number[]>();
  private readonly launchedAt: number[][];
  /** -1 while busy. */
  private readonly idleSince: number[][];
  /** NaN while alive. */
  private readonly stoppedAt: number[][];
  private readonly alive: Int32Array;

  constructor(
    private readonly model: SimModel,
    private readonly rng: Prng,
  ) {
    const n = model.sites.length;
    this.lambdaRunning = new Int32Array(n);
    this.launchedAt = Array.from({ length: n }, () => []);
    this.idleSince = Array.from({ length: n }, () => []);
    this.stoppedAt = Array.from({ length: n }, () => []);
    this.alive = new Int32Array(n);
  }

  acquireLambda(step: ModelStep, now: number): Grant | undefined {
    const lambda = this.model.sites[step.site]!.lambda!;
    if (this.lambdaRunning[step.site]! >= lambda.concurrency) return undefined;
    this.lambdaRunning[step.site]!++;
    this.lambdaInvocations++;
    const warm = this.warm.get(step.index);
    // Expiry times are pushed in time order, so if the newest has expired all have.
    if (warm && warm.length > 0 && warm[warm.length - 1]! >= now) {
      warm.pop();
      return { resource: -1, startDelaySeconds: 0 };
    }
    if (warm) warm.length = 0;
    this.lambdaColdStarts++;
    return { resource: -1, startDelaySeconds: sampleLatency(lambda.coldStart, this.rng) };
  }

  /** Lambda bills the whole invocation, init included (AWS bills the INIT phase since August 2025). */
  releaseLambda(step: ModelStep, heldSeconds: number, now: number): void {
    const lambda = this.model.sites[step.site]!.lambda!;
    this.lambdaRunning[step.site]!--;
    this.lambdaGbSeconds += (step.memoryMiB / 1024) * heldSeconds;
    const warm = this.warm.get(step.index);
    if (warm) warm.push(now + lambda.keepWarmSeconds);
    else this.warm.set(step.index, [now + lambda.keepWarmSeconds]);
  }

  acquireFargate(site: number, now: number): Grant | undefined {
    const fargate = this.model.sites[site]!.fargate!;
    const idle = this.idleSince[site]!;
    const stopped = this.stoppedAt[site]!;
    let pick = -1;
    for (let w = 0; w < idle.length; w++) {
      if (!Number.isNaN(stopped[w]!) || idle[w]! < 0) continue;
      if (now - idle[w]! > fargate.scaleInSeconds) {
        stopped[w] = idle[w]! + fargate.scaleInSeconds;
        this.alive[site]!--;
      } else if (pick < 0 || idle[w]! > idle[pick]!) pick = w;
    }
    if (pick >= 0) {
      idle[pick] = -1;
      return { resource: pick, startDelaySeconds: 0 };
    }
    if (this.alive[site]! >= fargate.maxTasks) return undefined;
    this.alive[site]!++;
    this.fargateLaunches++;
    this.launchedAt[site]!.push(now);
    idle.push(-1);
    stopped.push(Number.NaN);
    return { resource: idle.length - 1, startDelaySeconds: sampleLatency(fargate.start, this.rng) };
  }

  releaseFargate(site: number, worker: number, now: number): void {
    this.idleSince[site]![worker] = now;
  }

  /**
   * Billed worker-seconds per site: launch to scale-in (idle workers left at
   * the end scale in `scaleInSeconds` later), at least one minute each.
   */
  fargateBilledSeconds(end: number): number[] {
    return this.model.sites.map((site, s) => {
      const scaleIn = site.fargate?.scaleInSeconds ?? 0;
      let total = 0;
      this.launchedAt[s]!.forEach((launched, w) => {
        const stopped = this.stoppedAt[s]![w]!;
        const idle = this.idleSince[s]![w]!;
        const stop = !Number.isNaN(stopped) ? stopped : idle >= 0 ? idle + scaleIn : end;
        total += Math.max(FARGATE_MIN_BILLED_SECONDS, stop - launched);
      });
      return total;
    });
  }
}
