import { z } from "zod";

/** The field of a {@link ForeachResultsRef}. */
export const FOREACH_RESULTS_FIELD = "ferryForeachResults";

/**
 * What a `foreach` over files or records (a Distributed Map) passes to its
 * dependants: where its ResultWriter put the results, never the results
 * themselves. `manifest` is the key of the map run's `manifest.json`, which
 * lists the result files (`ResultFiles.SUCCEEDED` / `FAILED` / `PENDING`,
 * each `{ Key, Size }`); each result file is a JSON array of
 * {@link ForeachResultEntry}. Workers resolve the reference before the
 * dependant runs (see the edge agent's `resolveInputRefs`).
 */
export const ForeachResultsRefSchema = z.object({
  [FOREACH_RESULTS_FIELD]: z.object({ bucket: z.string(), manifest: z.string() }),
});
export type ForeachResultsRef = { [FOREACH_RESULTS_FIELD]: { bucket: string; manifest: string } };

export function isForeachResultsRef(value: unknown): value is ForeachResultsRef {
  return ForeachResultsRefSchema.safeParse(value).success;
}

/** A map run's `manifest.json`, as Step Functions' ResultWriter writes it. */
export const ForeachManifestSchema = z.object({
  DestinationBucket: z.string(),
  MapRunArn: z.string(),
  ResultFiles: z.object({
    SUCCEEDED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    FAILED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    PENDING: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
  }),
});
export type ForeachManifest = z.output<typeof ForeachManifestSchema>;

/**
 * One child execution in a result file. `Input` and `Output` are JSON
 * strings, as Step Functions writes them; the input holds `index` (the
 * item's position) and `item`. Failed entries carry `Error` and `Cause`.
 */
export interface ForeachResultEntry {
  Name?: string;
  ExecutionArn?: string;
  Status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
  Input: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}
