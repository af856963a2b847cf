import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A Distributed Map's dependants get its result files, staged in the job
 * folder: `deps.<step>.succeeded` and `.failed` list paths of JSON arrays
 * whose entries carry the child's `Input` and `Output` (JSON strings).
 */
interface Staged {
  succeeded: string[];
  failed: string[];
}

type Entry = { Input: string; Output?: string; Error?: string };

export async function handler(
  event: { deps: { score: Staged; checksum: Staged } },
  context: { jobDir?: string },
) {
  // Paths are relative to the job folder.
  const entries = (paths: string[]): Entry[] =>
    paths.flatMap((p) => JSON.parse(readFileSync(join(context.jobDir ?? ".", p), "utf8")) as Entry[]);
  const scores = entries(event.deps.score.succeeded).map((e) => JSON.parse(e.Output!) as { score: number });
  const failed = entries(event.deps.score.failed).map((e) => JSON.parse(e.Input).index as number);
  const files = entries(event.deps.checksum.succeeded).map((e) => JSON.parse(e.Output!) as { size: number });
  return {
    rows: scores.length,
    total: scores.reduce((s, x) => s + x.score, 0),
    failedRows: failed,
    bytes: files.reduce((s, f) => s + f.size, 0),
  };
}
