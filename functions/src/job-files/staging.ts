import { existsSync, lstatSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import type { CachedFile } from "@ferry/dsl-compiler/contract";
import { InvalidOutputError, JobFilesError } from "../errors.ts";
import { containedPath } from "./contained-files.ts";
import { hashFile } from "./file-hash.ts";
import { safeRelative } from "./paths.ts";
import type { JobFileIdentity, JobFileStore } from "./store.ts";

/** What staging needs of a step: the manifest step's job-file fields. */
export interface JobFileStep {
  name: string;
  /** The site the step writes as. */
  site: string;
  inputs: readonly string[];
  /** The site whose step wrote each input; an input left out was written by `site`. */
  inputSites?: Readonly<Record<string, string>>;
  outputs: readonly string[];
}

/**
 * Downloads the step's inputs into its job folder, each from the keys of
 * the site that wrote it. One failed download aborts its siblings, and
 * staging returns only once none is still writing.
 */
export async function stageInputs(
  step: JobFileStep,
  jobFiles: { bucket: string; prefix: string },
  jobDir: string,
  store: JobFileStore | undefined,
): Promise<Record<string, JobFileIdentity>> {
  const staged: Record<string, JobFileIdentity> = {};
  if (step.inputs.length === 0) return staged;
  if (!store)
    throw new JobFilesError(`step "${step.name}" declares inputs but this worker has no job-file store`);
  const siblings = new AbortController();
  let first: { error: unknown } | undefined;
  await Promise.allSettled(
    step.inputs.map((name) =>
      store
        .download(
          { ...jobFiles, site: step.inputSites?.[name] ?? step.site },
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

/**
 * Uploads the step's declared outputs from its job folder under its own
 * site's keys. A missing output fails the step; stores open each file with
 * `O_NOFOLLOW`, so a link the step planted is refused. Returns the
 * outputs' content identity, for the step cache and provenance.
 */
export async function uploadOutputs(
  step: JobFileStep,
  jobFiles: { bucket: string; prefix: string },
  jobDir: string,
  store: JobFileStore | undefined,
): Promise<CachedFile[]> {
  if (step.outputs.length === 0) return [];
  if (!store)
    throw new JobFilesError(`step "${step.name}" declares outputs but this worker has no job-file store`);
  const paths = step.outputs.map((name) => {
    const path = containedPath(jobDir, name, `output "${name}"`);
    if (!existsSync(path) && !isLink(path)) {
      throw new InvalidOutputError(
        `step "${step.name}" declares output "${name}" but did not write it to its job folder ($FERRY_JOB_DIR/${name})`,
      );
    }
    return path;
  });
  const ref = { ...jobFiles, site: step.site };
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
