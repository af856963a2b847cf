import { type KeyObject, verify } from "node:crypto";
import { z } from "zod";
import { canonicalJson, type Manifest, parseManifest } from "./manifest.ts";

/**
 * The one signing algorithm Ferry uses: ECDSA on P-256 with SHA-256, the
 * KMS key spec `ECC_NIST_P256`. Signatures are DER, as KMS returns them.
 */
export const MANIFEST_SIGNING_ALGORITHM = "ECDSA_SHA_256";
export const MANIFEST_KEY_SPEC = "ECC_NIST_P256";

/**
 * A site's manifest with its signature, as `ferry deploy` publishes it.
 * The signature covers {@link manifestSigningPayload}: the workflow, the
 * site, the manifest hash (which covers every step's hash, which covers
 * every step's definition) and the signing time.
 */
export interface SignedManifest {
  ferrySignedManifest: 1;
  signature: ManifestSignature;
  manifest: Manifest;
}

export interface ManifestSignature {
  /** The KMS key that signed (informational: the verifier uses the key it trusts). */
  keyId: string;
  algorithm: typeof MANIFEST_SIGNING_ALGORITHM;
  /** ISO time of signing; an agent refuses an envelope older than the one it holds. */
  signedAt: string;
  /** Base64 of the DER signature. */
  value: string;
}

const SignedManifestSchema = z.looseObject({
  ferrySignedManifest: z.literal(1),
  signature: z.looseObject({
    keyId: z.string().min(1),
    algorithm: z.literal(MANIFEST_SIGNING_ALGORITHM),
    signedAt: z.iso.datetime(),
    value: z.base64().min(1),
  }),
  manifest: z.unknown(),
});

/** Whether `json` has the shape of a signed envelope (it may still fail to verify). */
export function isSignedManifest(json: unknown): boolean {
  return typeof json === "object" && json !== null && "ferrySignedManifest" in json;
}

/** The bytes a manifest's signature covers. Small (under KMS's 4 KB message limit) whatever the manifest's size. */
export function manifestSigningPayload(
  manifest: Pick<Manifest, "workflow" | "site" | "hash">,
  signedAt: string,
): Buffer {
  return Buffer.from(
    canonicalJson({
      purpose: "ferry-manifest",
      v: 1,
      workflow: manifest.workflow,
      site: manifest.site ?? null,
      hash: manifest.hash,
      signedAt,
    }),
    "utf8",
  );
}

/** The envelope for a manifest and its DER signature over {@link manifestSigningPayload}. */
export function signedManifest(
  manifest: Manifest,
  signature: { keyId: string; signedAt: string; der: Uint8Array },
): SignedManifest {
  return {
    ferrySignedManifest: 1,
    signature: {
      keyId: signature.keyId,
      algorithm: MANIFEST_SIGNING_ALGORITHM,
      signedAt: signature.signedAt,
      value: Buffer.from(signature.der).toString("base64"),
    },
    manifest,
  };
}

export type VerifiedManifest =
  | { ok: true; manifest: Manifest; signedAt: string; keyId: string }
  | { ok: false; reason: string };

/**
 * Checks a signed envelope: its shape, the manifest's own hashes
 * ({@link parseManifest}), then the signature against `publicKey` (the key
 * the verifier trusts, never one named by the envelope). Never throws.
 */
export function verifySignedManifest(json: unknown, publicKey: KeyObject): VerifiedManifest {
  if (!isSignedManifest(json)) {
    return { ok: false, reason: "unsigned: it is a bare manifest, not a signed envelope" };
  }
  const envelope = SignedManifestSchema.safeParse(json);
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    return { ok: false, reason: `signed envelope: ${issue.path.join(".") || "(root)"}: ${issue.message}` };
  }
  const { signature } = envelope.data;
  const parsed = parseManifest(envelope.data.manifest);
  if (!parsed.ok) return { ok: false, reason: `manifest: ${parsed.reason}` };
  let valid = false;
  try {
    valid = verify(
      "sha256",
      manifestSigningPayload(parsed.manifest, signature.signedAt),
      publicKey,
      Buffer.from(signature.value, "base64"),
    );
  } catch {
    valid = false;
  }
  if (!valid) {
    return {
      ok: false,
      reason: `signature does not verify with the trusted key (the envelope names ${signature.keyId}): the manifest was altered or signed by another key`,
    };
  }
  return { ok: true, manifest: parsed.manifest, signedAt: signature.signedAt, keyId: signature.keyId };
}
