import { z } from "zod";
import { CacheOriginSchema } from "./step-cache.ts";

/** A job file a step read or wrote, by content. */
export const ProvenanceFileSchema = z.strictObject({
  name: z.string(),
  /** Full key (`jobFileKey`) or local path relative to the run's files folder. */
  key: z.string(),
  sha256: z.string(),
  sizeBytes: z.number().int().min(0),
  etag: z.string().optional(),
  versionId: z.string().optional(),
});
export type ProvenanceFile = z.output<typeof ProvenanceFileSchema>;

/**
 * One record per step attempt, written by whoever ran it at
 * `provenanceName({ step, attempt, item })` under its site's execution folder: what
 * ran, on which inputs, where, and what it produced.
 */
export const ProvenanceRecordSchema = z.strictObject({
  v: z.literal(1),
  workflow: z.string(),
  execution: z.string(),
  step: z.string(),
  attempt: z.number().int().min(1),
  /** A `foreach` item's input, when the step fans out. */
  item: z.unknown().optional(),
  /** That item's index (`$$.Map.Item.Index`), when the message carried one. */
  index: z.number().int().min(0).optional(),
  site: z.string(),
  /** The host the worker ran on (hostname, or the agent's configured device id). */
  device: z.string(),
  /** `ferry-agent/<version>`, `ferry-run/<version>`… */
  agent: z.string(),
  runtime: z.string(),
  definitionHash: z.string(),
  imageDigest: z.string().optional(),
  codeHash: z.string().optional(),
  /** sha256 of the canonical JSON of the resolved input. */
  inputDigest: z.string(),
  /** sha256 of each dep's output as this step received it. */
  deps: z.record(z.string(), z.strictObject({ outputDigest: z.string() })),
  inputFiles: z.array(ProvenanceFileSchema),
  outputFiles: z.array(ProvenanceFileSchema),
  /** sha256 of the canonical JSON of the output, on success. */
  outputDigest: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  outcome: z.string(),
  exitCode: z.number().int().nullable(),
  error: z.string().optional(),
  cache: z.strictObject({
    /** `off` when the step does not cache (or `--no-cache` skipped the lookup). */
    status: z.enum(["hit", "miss", "off"]),
    key: z.string().optional(),
    /** On a hit: the attempt that actually ran the step. */
    origin: CacheOriginSchema.optional(),
  }),
});
export type ProvenanceRecord = z.output<typeof ProvenanceRecordSchema>;
