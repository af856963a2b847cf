import { describe, expect, it } from "vitest";
import { compileSpec } from "./compile.ts";
import { unsafePathReason } from "./contract/relative-path.ts";
import { MAX_SPEC_DEPTH } from "./parse/depth.ts";

// Spec hardening: hostile nesting, names that leave their folder, and host
// access without the spec's explicit allowHost. None may make the compiler throw.

const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
const nestedObject = (levels: number) => `${"{a: ".repeat(levels)}1${"}".repeat(levels)}`;

/** A 1.1 spec with one edge step, `extra` spliced in as YAML lines of the step (6 spaces of indent under it). */
function spec(step: string, top = ""): string {
  return `version: "1.1"\nname: x\nsites: { lab: { type: edge } }\n${top}steps:\n  - name: a\n    site: lab\n${step}\n`;
}

describe("nesting deeper than MAX_SPEC_DEPTH", () => {
  const deep = 10_000;
  const places: Record<string, { text: string; path: RegExp }> = {
    "input: schema (YAML flow maps)": {
      text: spec('    process: { command: ["true"] }', `input: ${nestedObject(deep)}\n`),
      path: /^input(\.a)+$/,
    },
    "env value": {
      text: spec(`    process: { command: ["true"], env: { A: ${nested(deep)} } }`),
      path: /^steps\[0\]\.process\.env\.A(\[0\])+$/,
    },
    "foreach items": {
      text: spec(`    process: { command: ["true"] }\n    foreach: { items: ${nested(deep)} }`),
      path: /^steps\[0\]\.foreach\.items(\[0\])+$/,
    },
    hints: {
      text: spec(`    process: { command: ["true"] }\n    hints: { h: ${nested(deep)} }`),
      path: /^steps\[0\]\.hints\.h(\[0\])+$/,
    },
    "http body": {
      text: spec(`    http: { method: POST, url: "https://example.com", body: ${nested(deep)} }`),
      path: /^steps\[0\]\.http\.body(\[0\])+$/,
    },
    "block sequences": {
      text: spec(`    process: { command: ["true"] }\n    hints:\n      h:\n        ${"- ".repeat(deep)}x`),
      path: /^steps\[0\]\.hints\.h(\[0\])+$/,
    },
    "the document root (JSON)": { text: nested(deep), path: /^(\[0\])+$/ },
    "a JSON spec": {
      text: `{"name":"x","sites":{"lab":{"type":"edge"}},"steps":[{"name":"a","site":"lab","process":{"command":["true"]},"hints":{"h":${nested(deep)}}}]}`,
      path: /^steps\[0\]\.hints\.h(\[0\])+$/,
    },
    "a recursive alias": {
      text: spec('    process: { command: ["true"] }\n    hints: &h\n      h: *h'),
      path: /^steps\[0\]\.hints(\.h)+$/,
    },
  };
  for (const [where, { text, path }] of Object.entries(places)) {
    it(`is TOO_DEEP, with its place, in ${where}`, async () => {
      const { compiled, diagnostics } = compileSpec(text);
      expect(compiled).toBeUndefined();
      expect(diagnostics).toHaveLength(1);
      const [d] = diagnostics;
      expect(d).toMatchObject({ code: "TOO_DEEP", severity: "error" });
      expect(d!.message).toContain(`at most ${MAX_SPEC_DEPTH}`);
      expect(d!.line).toBeGreaterThanOrEqual(1);
      const { formatPath } = await import("./diagnostics/diagnostic.ts");
      expect(formatPath(d!.path)).toMatch(path);
      expect(d!.path).toHaveLength(MAX_SPEC_DEPTH);
    });
  }

  it("accepts exactly MAX_SPEC_DEPTH levels and refuses one more", () => {
    // The spec, steps, the step and hints are 4 levels; h adds the rest.
    const at = (levels: number) =>
      compileSpec(spec(`    process: { command: ["true"] }\n    hints: { h: ${nested(levels - 4)} }`));
    expect(at(MAX_SPEC_DEPTH).diagnostics).toEqual([]);
    expect(at(MAX_SPEC_DEPTH + 1).diagnostics.map((d) => d.code)).toEqual(["TOO_DEEP"]);
  });

  it("never throws on a million nested arrays", () => {
    expect(compileSpec(nested(1_000_000)).diagnostics[0]?.code).toBe("TOO_DEEP");
    expect(compileSpec(`a: ${nested(1_000_000)}`).diagnostics[0]?.code).toBe("TOO_DEEP");
  });
});

describe("unsafePathReason (shared with the agent's safeRelative)", () => {
  it.each([
    ["/etc/passwd", "is an absolute path"],
    ["C:/x", "is an absolute path"],
    ["../x", "climbs out of its folder with .."],
    ["a/../../x", "climbs out of its folder with .."],
    ["a\\b", "contains a backslash (separate folders with /)"],
    ["a\u0000b", "contains a control character (U+0000) at position 2"],
    ["a\nb", "contains a control character (U+000A) at position 2"],
    ["a//b", "has an empty segment (// or a trailing /)"],
    ["a/", "has an empty segment (// or a trailing /)"],
    ["", "is empty"],
    [".", "names the folder itself, not a file in it"],
    ["a/..", "names the folder itself, not a file in it"],
  ])("refuses %j: it %s", (name, reason) => {
    expect(unsafePathReason(name)).toBe(reason);
  });

  it.each(["a.txt", "out/result.json", "./a", "a/../b", "..a", "a..b/c"])("accepts %j", (name) => {
    expect(unsafePathReason(name)).toBeUndefined();
  });

  it("accepts a key prefix ending in / with folder: true", () => {
    expect(unsafePathReason("wf/exec/", { folder: true })).toBeUndefined();
    expect(unsafePathReason("../exec/", { folder: true })).toBe("climbs out of its folder with ..");
  });
});

describe("allowHost", () => {
  it("is carried into the manifest when granted, and absent otherwise", () => {
    const granted = compileSpec(
      spec('    container: { image: "alpine:3", network: host, allowHost: true }'),
    ).compiled;
    expect(granted?.manifest.steps.a?.runtime).toMatchObject({
      kind: "container",
      network: "host",
      allowHost: true,
    });
    const plain = compileSpec(spec('    container: { image: "alpine:3" }')).compiled;
    expect(plain?.manifest.steps.a?.runtime).not.toHaveProperty("allowHost");
  });

  it("is required for host volumes and refused where nothing needs it", () => {
    const volumes = compileSpec(
      spec('    container: { image: "alpine:3", volumes: [{ hostPath: /data, containerPath: /data }] }'),
    );
    expect(volumes.diagnostics.map((d) => [d.code, d.path.join(".")])).toEqual([
      ["HOST_ACCESS_NOT_ALLOWED", "steps.0.container.volumes"],
    ]);
    const pointless = compileSpec(spec('    container: { image: "alpine:3", allowHost: false }'));
    expect(pointless.diagnostics.map((d) => d.code)).toEqual(["HOST_ACCESS_NOT_ALLOWED"]);
  });
});
