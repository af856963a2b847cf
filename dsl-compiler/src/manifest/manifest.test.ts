import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import { manifestHash, parseManifest, siteManifest } from "../contract/manifest.ts";

const SPEC = `
name: two-sites
sites:
  a: { type: edge }
  b: { type: edge }
steps:
  - { name: one, site: a, process: { command: ["true"], env: { TOKEN_A: "secret-a" } } }
  - { name: two, site: b, depends: [one], process: { command: ["true"], env: { TOKEN_B: "secret-b" } } }
`;

describe("siteManifest", () => {
  it("given two sites, then each site's manifest holds only its steps, with a hash over those", () => {
    const { manifest } = compileSpec(SPEC).compiled!;
    const a = siteManifest(manifest, "a");
    expect(Object.keys(a.steps)).toEqual(["one"]);
    expect(a.site).toBe("a");
    expect(a.hash).toBe(manifestHash(a.steps));
    expect(a.hash).not.toBe(manifest.hash);
    expect(JSON.stringify(a)).not.toContain("secret-b");
    expect(JSON.stringify(siteManifest(manifest, "b"))).not.toContain("secret-a");
    // A worker checks a site's manifest as it checks a whole one.
    expect(parseManifest(JSON.parse(JSON.stringify(a)))).toEqual({ ok: true, manifest: a });
  });
});
