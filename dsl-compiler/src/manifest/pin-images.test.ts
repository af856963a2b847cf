import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import { parseManifest } from "../contract/manifest.ts";
import { pinImageDigests } from "./pin-images.ts";

const spec = `name: pins
sites: { lab: { type: edge } }
defaults: { }
steps:
  - { name: a, site: lab, container: { image: "busybox:1" } }
  - { name: b, site: lab, depends: [a], process: { command: ["true"] } }
`;

describe("pinImageDigests", () => {
  it("writes the digest into the step definition, so the step and manifest hashes change", () => {
    const { compiled } = compileSpec(spec);
    const pinned = pinImageDigests(compiled!, { "busybox:1": "sha256:1234" });
    expect(pinned.ok).toBe(true);
    if (!pinned.ok) return;
    const a = pinned.compiled.manifest.steps.a!;
    expect(a.runtime).toMatchObject({ image: "busybox:1", imageDigest: "sha256:1234" });
    expect(a.hash).not.toBe(compiled!.manifest.steps.a!.hash);
    expect(pinned.compiled.manifest.steps.b!.hash).toBe(compiled!.manifest.steps.b!.hash);
    expect(parseManifest(JSON.parse(JSON.stringify(pinned.compiled.manifest))).ok).toBe(true);
  });
  it("names the images it has no digest for", () => {
    const { compiled } = compileSpec(spec);
    expect(pinImageDigests(compiled!, {})).toEqual({ ok: false, missing: ["busybox:1"] });
  });
});
