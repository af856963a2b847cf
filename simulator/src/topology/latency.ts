import { z } from "zod";

/**
 * A latency as written in a topology: a constant (`ms`), a uniform range
 * (`minMs`/`maxMs`) or a log-normal given by its median and 95th percentile
 * (`medianMs`/`p95Ms`; the median alone is a constant).
 */
export const LatencySchema = z
  .strictObject({
    ms: z.number().min(0).optional(),
    minMs: z.number().min(0).optional(),
    maxMs: z.number().min(0).optional(),
    medianMs: z.number().min(0).optional(),
    p95Ms: z.number().min(0).optional(),
  })
  .superRefine((value, ctx) => {
    const forms = [
      value.ms !== undefined,
      value.minMs !== undefined || value.maxMs !== undefined,
      value.medianMs !== undefined,
    ];
    if (forms.filter(Boolean).length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: "give exactly one of ms, minMs+maxMs or medianMs(+p95Ms)",
        input: value,
      });
    } else if ((value.minMs === undefined) !== (value.maxMs === undefined)) {
      ctx.addIssue({ code: "custom", message: "a range needs both minMs and maxMs", input: value });
    } else if (value.minMs !== undefined && value.maxMs! < value.minMs) {
      ctx.addIssue({
        code: "custom",
        path: ["maxMs"],
        message: `must be ≥ minMs (${value.minMs})`,
        input: value.maxMs,
      });
    } else if (value.p95Ms !== undefined && value.medianMs === undefined) {
      ctx.addIssue({ code: "custom", path: ["p95Ms"], message: "p95Ms needs medianMs", input: value.p95Ms });
    } else if (value.p95Ms !== undefined && value.p95Ms < value.medianMs!) {
      ctx.addIssue({
        code: "custom",
        path: ["p95Ms"],
        message: `must be ≥ medianMs (${value.medianMs})`,
        input: value.p95Ms,
      });
    }
  });

export type LatencySpec = z.output<typeof LatencySchema>;

/** A latency distribution in seconds, ready to sample. */
export type Latency =
  | { kind: "constant"; seconds: number }
  | { kind: "uniform"; minSeconds: number; maxSeconds: number }
  | { kind: "lognormal"; medianSeconds: number; sigma: number };

/** z of the 95th percentile of a standard normal. */
export const Z95 = 1.6448536269514722;

export function resolveLatency(spec: LatencySpec): Latency {
  if (spec.ms !== undefined) return { kind: "constant", seconds: spec.ms / 1000 };
  if (spec.minMs !== undefined && spec.maxMs !== undefined) {
    return spec.minMs === spec.maxMs
      ? { kind: "constant", seconds: spec.minMs / 1000 }
      : { kind: "uniform", minSeconds: spec.minMs / 1000, maxSeconds: spec.maxMs / 1000 };
  }
  const median = (spec.medianMs ?? 0) / 1000;
  if (spec.p95Ms === undefined || spec.p95Ms === spec.medianMs || median === 0)
    return { kind: "constant", seconds: median };
  return { kind: "lognormal", medianSeconds: median, sigma: Math.log(spec.p95Ms / spec.medianMs!) / Z95 };
}

/** Expected value in seconds, used for static estimates such as the critical path. */
export function meanLatency(latency: Latency): number {
  switch (latency.kind) {
    case "constant":
      return latency.seconds;
    case "uniform":
      return (latency.minSeconds + latency.maxSeconds) / 2;
    case "lognormal":
      return latency.medianSeconds * Math.exp((latency.sigma * latency.sigma) / 2);
  }
}

export function isRandom(latency: Latency): boolean {
  return latency.kind !== "constant";
}
