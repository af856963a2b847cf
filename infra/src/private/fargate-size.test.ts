import { describe, expect, it } from "vitest";
import { backlogScalingSteps, fargateSize } from "./fargate-size.ts";

describe("fargateSize", () => {
  it.each([
    [0.25, 512, { cpu: 256, memoryMiB: 512 }],
    [1, 512, { cpu: 1024, memoryMiB: 2048 }],
    [1, 3000, { cpu: 1024, memoryMiB: 3072 }],
    [0.5, 9000, { cpu: 2048, memoryMiB: 9216 }],
    [2, 3000, { cpu: 2048, memoryMiB: 4096 }],
    [16, 122_880, { cpu: 16_384, memoryMiB: 122_880 }],
  ])("given %s vCPU and %s MiB, when sized, then the smallest valid task is %o", (cpu, memory, expected) => {
    expect(fargateSize(cpu, memory)).toEqual(expected);
  });

  it("given more than Fargate's largest task, when sized, then there is none", () => {
    expect(fargateSize(32, 1024)).toBeUndefined();
    expect(fargateSize(1, 200_000)).toBeUndefined();
  });
});

describe("backlogScalingSteps", () => {
  it("given 10 workers of 1 task, when built, then steps go 0, 1, 2, 4, 8, 10 by backlog", () => {
    expect(backlogScalingSteps(10, 1)).toEqual([
      { upper: 0, change: 0 },
      { lower: 1, change: 1 },
      { lower: 2, change: 2 },
      { lower: 3, change: 4 },
      { lower: 5, change: 8 },
      { lower: 9, change: 10 },
    ]);
  });

  it("given 4 tasks per worker, when built, then a worker is added per 4 messages of backlog", () => {
    expect(backlogScalingSteps(2, 4)).toEqual([
      { upper: 0, change: 0 },
      { lower: 1, change: 1 },
      { lower: 5, change: 2 },
    ]);
  });
});
