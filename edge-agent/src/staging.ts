import { existsSync, lstatSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import type { CachedFile, ManifestStep, StepMessage } from "@ferry/dsl-compiler/contract";
import { containedPath } from "./contained-files.ts";
import { AgentError } from "./errors.ts";
import { hashFile } from "./file-hash.ts";
import { safeRelative } from "./job-paths.ts";
import type { JobFileIdentity, JobFileStore } from "./ports/job-files.ts";

/** Downloads the step's input job files into its folder; returns what each one was. */
export async function stageInputs(
  step: ManifestStep,
  message: StepMessage,
  jobDir: string,
  store: JobFileStore | undefined,
): Promise<Record<string, JobFileIdentity>> {
  const staged: Record<string, JobFileIdentity> = {};
  if (step.inputs.length === 0) return staged;
  if (!store)
    throw new AgentError(
      "JOB_FILES_FAILED",
      `step "${step.name}" declares inputs but this worker has no job-file store`,
    );
  // One failed download aborts its siblings, and staging returns only once none is still writing.
  const siblings = new AbortController();
  let first: { error: unknown } | undefined;
  await Promise.allSettled(
    step.inputs.map((name) =>
      store
        .download(
          { ...message.jobFiles, site: step.inputSites?.[name] ?? step.site },
          name,
          join(jobDir, safeRelative(name, "input")),
          { signal: siblings.signal },
        )
        .then((identity) => {
          staged[name] = identity;
        })
        .catch((error: unknown) => {
          // The first failure is the cause; the aborted siblings' errors only echo it.
          first ??= { error };
          siblings.abort();
        }),
    ),
  );
  if (first) throw first.error;
  return staged;
}

/** Uploads the step's declared output files; returns their content identity, for the cache and provenance. */
export async function uploadOutputs(
  step: ManifestStep,
  message: StepMessage,
  jobDir: string,
  store: JobFileStore | undefined,
): Promise<CachedFile[]> {
  if (step.outputs.length === 0) return [];
  if (!store)
    throw new AgentError(
      "JOB_FILES_FAILED",
      `step "${step.name}" declares outputs but this worker has no job-file store`,
    );
  const paths = step.outputs.map((name) => {
    const path = containedPath(jobDir, name, `output "${name}"`);
    if (!existsSync(path) && !isLink(path)) {
      throw new AgentError(
        "INVALID_OUTPUT",
        `step "${step.name}" declares output "${name}" but did not write it to its job folder ($FERRY_JOB_DIR/${name})`,
      );
    }
    return path;
  });
  // Stores open each file with O_NOFOLLOW, so a link swapped in after this check is refused too.
  const ref = { ...message.jobFiles, site: step.site };
  await Promise.all(step.outputs.map((name, i) => store.upload(ref, name, paths[i]!)));
  return Promise.all(
    step.outputs.map(async (name, i) => {
      const [sha, stats] = await Promise.all([hashFile(paths[i]!), lstat(paths[i]!)]);
      return { name, sha256: sha, sizeBytes: stats.size };
    }),
  );
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    // Absent: not a link.
    return false;
  }
}
