import type { ScalingInterval } from "aws-cdk-lib/aws-applicationautoscaling";

/** Fargate's CPU units (1024 = 1 vCPU) and the memory (MiB) each allows. */
const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memoryMiB: number[] }> = [
  { cpu: 256, memoryMiB: [512, 1024, 2048] },
  { cpu: 512, memoryMiB: range(1024, 4096, 1024) },
  { cpu: 1024, memoryMiB: range(2048, 8192, 1024) },
  { cpu: 2048, memoryMiB: range(4096, 16_384, 1024) },
  { cpu: 4096, memoryMiB: range(8192, 30_720, 1024) },
  { cpu: 8192, memoryMiB: range(16_384, 61_440, 4096) },
  { cpu: 16_384, memoryMiB: range(32_768, 122_880, 8192) },
];

/**
 * The smallest valid Fargate task size holding `cpu` vCPUs and `memoryMiB`,
 * or undefined when Fargate has none that large (16 vCPU, 120 GiB).
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
export function fargateSize(cpu: number, memoryMiB: number): { cpu: number; memoryMiB: number } | undefined {
  for (const size of FARGATE_SIZES) {
    if (size.cpu < cpu * 1024) continue;
    const memory = size.memoryMiB.find((m) => m >= memoryMiB);
    if (memory !== undefined) return { cpu: size.cpu, memoryMiB: memory };
  }
  return undefined;
}

/**
 * Exact-capacity steps from the queue backlog (visible + in-flight messages)
 * to a worker count: none when the queue is empty, then 1, 2, 4, … up to
 * `maxWorkers`, each worker taking `tasksPerWorker` messages at a time.
 */
export function backlogScalingSteps(maxWorkers: number, tasksPerWorker: number): ScalingInterval[] {
  const steps: ScalingInterval[] = [{ upper: 0, change: 0 }];
  let previous = 0;
  for (let workers = 1; previous < maxWorkers; workers = Math.min(maxWorkers, workers * 2)) {
    steps.push({ lower: previous * tasksPerWorker + 1, change: workers });
    previous = workers;
  }
  return steps;
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}
