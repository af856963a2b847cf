import { readFile } from "node:fs/promises";
import type { Manifest } from "@ferry/dsl-compiler/contract";
import { AgentError, messageOf } from "./errors.ts";
import { validateManifest } from "./manifest-store.ts";

/** Reads an object from S3: `(bucket, key) → text`. */
export type S3Reader = (bucket: string, key: string) => Promise<string>;

/**
 * Loads and checks manifests from file paths and `s3://bucket/key` URLs.
 * A manifest that cannot be read or fails its hash check stops the load.
 */
export async function loadManifests(sources: string[], readS3?: S3Reader): Promise<Manifest[]> {
  return Promise.all(
    sources.map(async (source) => {
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
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new AgentError("MANIFEST_INVALID", `${source} is not JSON: ${messageOf(error)}`, {
          cause: error,
        });
      }
      return validateManifest(json, source);
    }),
  );
}
