import { z } from "zod";

/**
 * A step output too large for Step Functions (256 KiB), stored as a job file
 * (under `outputName` of the bucket key layout) and passed in its place. Workers resolve
 * references found in `deps` before the next step runs, so steps never see them.
 */
export const OutputRefSchema = z.object({
  ferryOutputRef: z.object({
    bucket: z.string(),
    prefix: z.string(),
    /** The site that stored it: with `prefix` and `name` it gives the key (`jobFileKey`). */
    site: z.string(),
    /** Relative to the site's execution folder. */
    name: z.string(),
    sizeBytes: z.number().int().min(0),
  }),
});

export type OutputRef = z.output<typeof OutputRefSchema>;

export function isOutputRef(value: unknown): value is OutputRef {
  return OutputRefSchema.safeParse(value).success;
}
