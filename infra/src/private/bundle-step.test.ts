import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import type { AssetCode } from "aws-cdk-lib/aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { StepBundler } from "./bundle-step.ts";

describe("StepBundler's bundle cache", () => {
  const project = mkdtempSync(join(tmpdir(), "ferry-bundle-cache-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(join(project, "helper.ts"), 'export const greeting = "first";\n');
  writeFileSync(
    join(project, "handler.ts"),
    'import { greeting } from "./helper.ts";\nexport const handler = async () => ({ greeting });\n',
  );
  const stack = new Stack(new App(), "BundleCache");
  /** A fresh bundler each time, as each synthesis makes one: only the on-disk cache carries over. */
  const bundle = () => {
    const bundler = new StepBundler(project);
    const { path } = bundler.code(stack, { file: "handler.ts", exportName: "handler" }) as AssetCode;
    bundler.cleanup();
    return path;
  };

  it("Given an unchanged handler, Then the second synthesis reuses the bundle; a changed import or a tampered bundle makes a new one", () => {
    const first = bundle();
    expect(first.startsWith(join(project, ".ferry", "bundles"))).toBe(true);
    const built = statSync(join(first, "index.mjs")).mtimeMs;
    expect(readFileSync(join(first, "index.mjs"), "utf8")).toContain('"first"');

    expect(bundle()).toBe(first);
    expect(statSync(join(first, "index.mjs")).mtimeMs).toBe(built);

    // A file the handler imports changes: its content hash no longer matches.
    writeFileSync(join(project, "helper.ts"), 'export const greeting = "second";\n');
    const second = bundle();
    expect(second).not.toBe(first);
    expect(readFileSync(join(second, "index.mjs"), "utf8")).toContain('"second"');

    // A cached bundle edited in place is not trusted: it is made again.
    writeFileSync(join(second, "index.mjs"), "export const handler = () => 'tampered';\n");
    const third = bundle();
    expect(third).toBe(second);
    expect(readFileSync(join(third, "index.mjs"), "utf8")).toContain('"second"');
  });
});
