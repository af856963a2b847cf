import { readFile } from "node:fs/promises";
import type { Manifest } from "@ferry/dsl-compiler/contract";
import { AgentError, messageOf } from "./errors.ts";
import type { ManifestLoad } from "./manifest-store.ts";
import { validateManifest } from "./manifest-store.ts";
import type { ManifestTrust } from "./manifest-trust.ts";

/** Reads an object from S3: `(bucket, key) → text`. */
export type S3Reader = (bucket: string, key: string) => Promise<string>;

/**
 * Loads and checks manifests from file paths and `s3://bucket/key` URLs.
 * A manifest that cannot be read or fails its hash check stops the load.
 */
export async function loadManifests(sources: string[], readS3?: S3Reader): Promise<Manifest[]> {
  const loaded = await loadManifestSources(sources, { ...(readS3 ? { readS3 } : {}) });
  if (loaded.refused.length > 0) throw loaded.refused[0]!.error;
  return loaded.manifests;
}

/**
 * Loads every source on its own: each is read, parsed and checked by
 * `trust` (signature, pinned hash; without `trust`, its hashes only). A
 * source that fails is reported in `refused` with the reason; the others
 * still load.
 */
export async function loadManifestSources(
  sources: string[],
  options: { readS3?: S3Reader; trust?: ManifestTrust },
): Promise<ManifestLoad> {
  const results = await Promise.all(
    sources.map(async (source) => {
      try {
        const json = await readSource(source, options.readS3);
        return {
          manifest: options.trust ? await options.trust.check(json, source) : validateManifest(json, source),
        };
      } catch (error) {
        const agentError =
          error instanceof AgentError
            ? error
            : new AgentError("MANIFEST_INVALID", `manifest ${source}: ${messageOf(error)}`, { cause: error });
        return { refused: { source, reason: agentError.message, error: agentError } };
      }
    }),
  );
  return {
    manifests: results.flatMap((r) => (r.manifest ? [r.manifest] : [])),
    refused: results.flatMap((r) => (r.refused ? [r.refused] : [])),
  };
}

async function readSource(source: string, readS3: S3Reader | undefined): Promise<unknown> {
  let text: string;
  try {
    const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
    if (s3) {
      if (!readS3) throw new Error("no S3 client configured");
      text = await readS3(s3[1]!, s3[2]!);
    } else {
      text = await readFile(source, "utf8");
    }
  } catch (error) {
    throw new AgentError("MANIFEST_INVALID", `cannot read manifest ${source}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AgentError("MANIFEST_INVALID", `${source} is not JSON: ${messageOf(error)}`, {
      cause: error,
    });
  }
}
