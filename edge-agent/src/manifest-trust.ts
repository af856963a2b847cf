import type { KeyObject } from "node:crypto";
import { isSignedManifest, type Manifest, verifySignedManifest } from "@ferry/dsl-compiler/contract";
import { AgentError, messageOf } from "./errors.ts";
import { validateManifest } from "./manifest-store.ts";

export interface ManifestTrustOptions {
  /** KMS key (ARN) whose signature every manifest must carry. */
  signingKey?: string;
  /** The signing key's public key (fetched once, e.g. with kms:GetPublicKey). Needed with `signingKey`. */
  publicKey?: () => Promise<KeyObject>;
  /** Pinned manifest hashes: a manifest whose `hash` is not listed is refused. */
  hashes?: readonly string[];
  /** The site this agent serves: a manifest made for another site is refused. */
  site?: string;
}

/**
 * Decides whether a manifest read from a file or S3 may be used. With a
 * signing key, only signed envelopes whose signature verifies with that
 * key's public key (never a key the envelope names) pass, and an envelope
 * older than one already accepted from the same source is refused (a
 * replayed old manifest). With pinned hashes, only those hashes pass. With
 * neither, manifests from S3 are refused (anyone who can write the object
 * could change any command) and local files are used as they are, as
 * trusted as the config file itself.
 */
export class ManifestTrust {
  private readonly newest = new Map<string, string>();

  constructor(private readonly options: ManifestTrustOptions = {}) {}

  /** Whether manifests are checked by signature or pin (else only local files are accepted). */
  get enforced(): boolean {
    return Boolean(this.options.signingKey || this.options.hashes?.length);
  }

  /** The manifest `json` from `source` holds, or `MANIFEST_REFUSED` naming why not. */
  async check(json: unknown, source: string): Promise<Manifest> {
    const { signingKey, hashes, site } = this.options;
    const refuse = (reason: string): never => {
      throw new AgentError("MANIFEST_REFUSED", `manifest ${source} refused: ${reason}`);
    };
    let manifest: Manifest;
    let signedAt: string | undefined;
    if (signingKey) {
      if (!isSignedManifest(json)) {
        refuse(
          `unsigned — this agent trusts only manifests signed by ${signingKey} (ferry deploy signs them)`,
        );
      }
      let publicKey: KeyObject;
      try {
        publicKey = await this.options.publicKey!();
      } catch (error) {
        throw new AgentError(
          "MANIFEST_REFUSED",
          `manifest ${source} refused: the public key of ${signingKey} is unavailable (${messageOf(error)})`,
          { cause: error },
        );
      }
      const verified = verifySignedManifest(json, publicKey);
      if (!verified.ok) refuse(verified.reason);
      else {
        manifest = verified.manifest;
        signedAt = verified.signedAt;
      }
    } else {
      if (!this.enforced && /^s3:\/\//.test(source)) {
        refuse(
          "manifests from S3 need manifestSigningKey (written by ferry deploy --agent-configs) or manifestHashes in the agent config",
        );
      }
      const inner = isSignedManifest(json) ? (json as { manifest?: unknown }).manifest : json;
      manifest = validateManifest(inner, source);
    }
    manifest = manifest!;
    if (hashes?.length && !hashes.includes(manifest.hash)) {
      refuse(`its hash ${manifest.hash} is not among the pinned manifestHashes (${hashes.join(", ")})`);
    }
    if (site !== undefined && manifest.site !== undefined && manifest.site !== site) {
      refuse(`it is site "${manifest.site}"'s manifest but this agent serves site "${site}"`);
    }
    if (signedAt !== undefined) {
      const before = this.newest.get(source);
      if (before !== undefined && signedAt < before) {
        refuse(
          `it was signed at ${signedAt}, before the one already in use (${before}): an old manifest put back`,
        );
      }
      this.newest.set(source, signedAt);
    }
    return manifest;
  }
}
