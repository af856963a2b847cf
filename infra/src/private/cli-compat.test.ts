import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adaptAssemblyForCli } from "./cli-compat.ts";

describe("adaptAssemblyForCli", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-compat-"));
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({
        version: "55.0.0",
        minimumCliVersion: "2.1148.2",
        artifacts: {
          "ferry-hello": { type: "aws:cloudformation:stack" },
          "aws-cdk-lib/feature-flag-report": { type: "cdk:feature-flag-report" },
        },
      }),
    );
    writeFileSync(join(dir, "ferry-hello.assets.json"), JSON.stringify({ version: "55.0.0", files: {} }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const read = (file: string) => JSON.parse(readFileSync(join(dir, file), "utf8"));

  it("given a CLI reading schema 43, when adapted, then manifests are relabelled and unknown artifacts dropped", () => {
    expect(adaptAssemblyForCli(dir, "43.0.0")).toEqual({
      rewritten: true,
      from: "55.0.0",
      to: "43.0.0",
      droppedArtifacts: ["aws-cdk-lib/feature-flag-report"],
    });
    expect(read("manifest.json")).toEqual({
      version: "43.0.0",
      artifacts: { "ferry-hello": { type: "aws:cloudformation:stack" } },
    });
    expect(read("ferry-hello.assets.json").version).toBe("43.0.0");
  });

  it.each([undefined, "55.0.0", "60.1.0", "12.0.0"])(
    "given CLI assembly version %s, when adapted, then nothing changes",
    (version) => {
      expect(adaptAssemblyForCli(dir, version).rewritten).toBe(false);
      expect(read("manifest.json").version).toBe("55.0.0");
    },
  );
});
