import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetPublicKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { MANIFEST_KEY_SPEC, MANIFEST_SIGNING_ALGORITHM } from "@ferry/dsl-compiler/contract";

export interface KmsPublicKeyOptions {
  client: KMSClient;
  /** The key's ARN (as `ferry deploy` writes it into agent configs). */
  keyId: string;
  /** Folder the fetched public key is kept in, so later starts need no KMS call (and work offline). */
  cacheDir: string;
}

/**
 * The public half of the manifest signing key: read from the cache folder
 * when an earlier start fetched it, else fetched once with kms:GetPublicKey
 * and kept there. The key must be an ECC_NIST_P256 signing key offering
 * ECDSA_SHA_256 and, when `keyId` is an ARN, must be that very key.
 * Verification then happens locally (node:crypto), with no further calls.
 */
export function kmsPublicKey(options: KmsPublicKeyOptions): () => Promise<KeyObject> {
  let pending: Promise<KeyObject> | undefined;
  const file = join(
    options.cacheDir,
    "manifest-keys",
    `${createHash("sha256").update(options.keyId).digest("hex").slice(0, 32)}.json`,
  );
  const fetchKey = async (): Promise<KeyObject> => {
    const cached = await readCached(file, options.keyId);
    if (cached) return cached;
    const out = await options.client.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
    if (out.KeyUsage !== "SIGN_VERIFY" || out.KeySpec !== MANIFEST_KEY_SPEC) {
      throw new Error(
        `${options.keyId} is a ${out.KeySpec ?? "?"} ${out.KeyUsage ?? "?"} key, not an ${MANIFEST_KEY_SPEC} SIGN_VERIFY key`,
      );
    }
    if (!out.SigningAlgorithms?.includes(MANIFEST_SIGNING_ALGORITHM)) {
      throw new Error(`${options.keyId} does not offer ${MANIFEST_SIGNING_ALGORITHM}`);
    }
    if (options.keyId.startsWith("arn:") && out.KeyId !== options.keyId) {
      throw new Error(`KMS answered for ${out.KeyId ?? "another key"}, not ${options.keyId}`);
    }
    const der = Buffer.from(out.PublicKey!);
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    await mkdir(join(options.cacheDir, "manifest-keys"), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify({ keyId: options.keyId, spki: der.toString("base64") }), {
      mode: 0o600,
    });
    await rename(temp, file);
    return key;
  };
  return () => {
    // A failed fetch is retried at the next load; a good key is kept for the agent's life.
    pending ??= fetchKey().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function readCached(file: string, keyId: string): Promise<KeyObject | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    const cached = JSON.parse(text) as { keyId?: string; spki?: string };
    if (cached.keyId !== keyId || !cached.spki) return undefined;
    return createPublicKey({ key: Buffer.from(cached.spki, "base64"), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
}
