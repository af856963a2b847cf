import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { braidDag, specForDag } from "@ferry/dsl-compiler/testing";
import { describe, expect, it } from "vitest";
import { main } from "./main.ts";
import { recordingIo } from "./testing-io.ts";

const root = join(import.meta.dirname, "..", "..");
const hello = join(root, "examples", "hello", "workflow.yaml");

describe("ferry validate", () => {
  it("exits 0 on a valid spec", async () => {
    const io = recordingIo(root);
    expect(await main(["validate", hello], io)).toBe(0);
    expect(io.out).toContain('workflow "hello", 2 steps on 2 sites');
  });

  it("exits 1 with file:line:col diagnostics on an invalid spec", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      'name: x\nsites: { lab: { type: edge } }\nsteps:\n  - { name: a, site: lab, depends: [b], process: { command: ["true"] } }\n',
    );
    const io = recordingIo(dir);
    expect(await main(["validate", file], io)).toBe(1);
    expect(io.err).toContain(`${file}:4:37: error[UNKNOWN_DEPENDENCY] steps[0].depends[0]: unknown step "b"`);
  });

  it("exits 1 without a stack trace on binary garbage and on a missing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    const file = join(dir, "garbage.bin");
    writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const io = recordingIo(dir);
    expect(await main(["validate", file, join(dir, "missing.yaml")], io)).toBe(1);
    expect(io.err).toContain("error[YAML_SYNTAX]");
    expect(io.err).toContain("no such file");
    expect(io.err).not.toMatch(/\n\s+at /);
  });

  it("exits 1 with TOO_DEEP, not a stack overflow, on 10,000 nested arrays in YAML and in JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    writeFileSync(
      join(dir, "deep.yaml"),
      `name: x\nsites: { lab: { type: edge } }\nsteps:\n  - name: a\n    site: lab\n    process: { command: ["true"] }\n    hints: { h: ${deep} }\n`,
    );
    writeFileSync(
      join(dir, "deep.json"),
      `{"name":"x","sites":{"lab":{"type":"edge"}},"steps":[{"name":"a","site":"lab","process":{"command":["true"],"env":{"A":${deep}}}}]}`,
    );
    for (const file of ["deep.yaml", "deep.json"]) {
      const io = recordingIo(dir);
      expect(await main(["validate", join(dir, file)], io), file).toBe(1);
      expect(io.err, file).toMatch(/error\[TOO_DEEP\] steps\[0\]\.(hints\.h|process\.env\.A)\[0\]/);
      expect(io.err, file).toContain("a spec may nest at most 64");
      expect(io.err, file).not.toMatch(/\n\s+at /);
    }
  });

  it("refuses a handler path outside the project without looking it up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    writeFileSync(join(dir, "package.json"), "{}");
    writeFileSync(
      join(dir, "wf.yaml"),
      'name: x\nsites: { cloud: { type: aws, region: us-east-1 } }\nsteps:\n  - { name: f, site: cloud, function: { handler: "../outside.ts#handler" } }\n',
    );
    const io = recordingIo(dir);
    expect(await main(["validate", join(dir, "wf.yaml")], io)).toBe(1);
    expect(io.err).toContain(
      'error[UNSAFE_PATH] steps[0].function.handler: handler file "../outside.ts" climbs out of its folder with ..',
    );
    expect(io.err).not.toContain("FUNCTION_NOT_FOUND");
  });

  it("reports a function handler file that does not exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    writeFileSync(join(dir, "package.json"), "{}");
    writeFileSync(
      join(dir, "wf.yaml"),
      'name: x\nsites: { cloud: { type: aws, region: us-east-1 } }\nsteps:\n  - { name: f, site: cloud, function: { handler: "src/missing.ts#handler" } }\n',
    );
    const io = recordingIo(dir);
    expect(await main(["validate", join(dir, "wf.yaml")], io)).toBe(1);
    expect(io.err).toContain(
      'error[FUNCTION_NOT_FOUND] steps[0].function.handler: handler file "src/missing.ts" does not exist',
    );
  });

  it("exits 2 on usage errors", async () => {
    const io = recordingIo(root);
    expect(await main(["validate"], io)).toBe(2);
    expect(io.err).toContain("Usage: ferry validate");
    expect(await main(["validate", "--bogus", hello], recordingIo(root))).toBe(2);
    expect(await main(["no-such-command"], recordingIo(root))).toBe(2);
  });
});

describe("ferry compile", () => {
  it("writes ir.json, statemachine.asl.json, manifest.json and substitutions.json", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ferry-cli-")), "hello");
    const io = recordingIo(root);
    expect(await main(["compile", hello, "--out", out, "--no-synth"], io)).toBe(0);
    for (const file of [
      "ir.json",
      "statemachine.asl.json",
      "manifest.json",
      "substitutions.json",
      "states.json",
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const asl = JSON.parse(readFileSync(join(out, "statemachine.asl.json"), "utf8"));
    expect(asl.States.extract.Parameters.QueueUrl).toBe("$" + "{QueueUrl_site_laptop}");
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.steps.summarize.runtime).toMatchObject({
      kind: "function",
      file: "examples/hello/summarize.ts",
      exportName: "handler",
    });
    expect(manifest.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("leaves nothing behind when the spec is invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    writeFileSync(join(dir, "bad.yaml"), "name: x\n");
    expect(await main(["compile", join(dir, "bad.yaml"), "--out", join(dir, "out")], recordingIo(dir))).toBe(
      1,
    );
    expect(existsSync(join(dir, "out"))).toBe(false);
  });
});

describe("--split-limit", () => {
  const braid = () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    const file = join(dir, "braid.json");
    writeFileSync(file, specForDag(braidDag(3, 16, 4), { name: "braid" }));
    return { dir, file };
  };

  it("ferry compile writes the child machines of a workflow split at the lowered limit", async () => {
    const { dir, file } = braid();
    const io = recordingIo(dir);
    expect(
      await main(["compile", file, "--out", join(dir, "out"), "--no-synth", "--split-limit", "100"], io),
    ).toBe(0);
    expect(io.out).toMatch(/in the root machine, 6 child machines/);
    const states = JSON.parse(readFileSync(join(dir, "out", "states.json"), "utf8"));
    expect(Object.keys(states).sort()).toEqual([
      "child-1",
      "child-2",
      "child-3",
      "child-4",
      "child-5",
      "child-6",
      "root",
    ]);
    for (const id of Object.keys(states).filter((k) => k !== "root"))
      expect(existsSync(join(dir, "out", `${id}.asl.json`)), id).toBe(true);
  });

  it.each([
    ["abc", 'must be a whole number of history events, got "abc"'],
    ["1e3", 'must be a whole number of history events, got "1e3"'],
    ["5", "must be at least 12"],
    ["12.5", "must be a whole number"],
    ["7000", "must be at most 6000"],
  ])("refuses %s on compile, deploy and run before compiling", async (value, message) => {
    const { dir, file } = braid();
    for (const argv of [
      ["compile", file, "--out", join(dir, "out"), "--no-synth"],
      ["deploy", file, "--target", "localstack", "--endpoint-url", "http://127.0.0.1:9"],
      ["run", file],
    ]) {
      const io = recordingIo(dir);
      expect(await main([...argv, "--split-limit", value], io), argv[0]).toBe(2);
      expect(io.err).toContain(`--split-limit ${message}`);
    }
    expect(existsSync(join(dir, "out"))).toBe(false);
  });
});

describe("ferry graph and schema", () => {
  it("draws mermaid and dot", async () => {
    const io = recordingIo(root);
    expect(await main(["graph", hello], io)).toBe(0);
    expect(io.out).toContain("n_extract --> n_summarize");
    const dot = recordingIo(root);
    expect(await main(["graph", hello, "--format", "dot"], dot)).toBe(0);
    expect(dot.out).toContain('"extract" -> "summarize";');
  });

  it("prints the JSON Schema", async () => {
    const io = recordingIo(root);
    expect(await main(["schema"], io)).toBe(0);
    expect(JSON.parse(io.out).title).toBe("Ferry workflow spec v1");
  });
});
