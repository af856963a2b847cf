import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";

function cacheOf(defaults: string, cache: string) {
  const { compiled, diagnostics } = compileSpec(`version: "1.1"
name: c
sites: { lab: { type: edge } }
${defaults}
steps:
  - name: a
    site: lab
    process: { command: ["true"] }
${cache}
`);
  expect(diagnostics).toEqual([]);
  return compiled!.manifest.steps.a!.cache;
}

describe("cache: options", () => {
  it("resolves true, false, the object form (old and new) and defaults.cache", () => {
    expect(cacheOf("", "")).toEqual({ enabled: false });
    expect(cacheOf("", "    cache: true")).toEqual({ enabled: true });
    expect(cacheOf("", "    cache: { enabled: true, key: [v2] }")).toEqual({ enabled: true, key: ["v2"] });
    expect(cacheOf("", "    cache: { ttl: 12h }")).toEqual({ enabled: true, ttlSeconds: 43_200 });
    expect(cacheOf("", "    cache: { ttl: 7d }")).toEqual({ enabled: true, ttlSeconds: 604_800 });
    expect(cacheOf("defaults: { cache: { ttl: 30s } }", "")).toEqual({ enabled: true, ttlSeconds: 30 });
    expect(cacheOf("defaults: { cache: true }", "    cache: false")).toEqual({ enabled: false });
  });
});
