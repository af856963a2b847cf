import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import { redactSecrets, redactSecretsDeep, secretOverrideEnvName } from "../contract/secrets.ts";

const spec = (version: string, step: object, site = "edge") =>
  JSON.stringify({
    ...(version ? { version } : {}),
    name: "sec",
    sites: { lab: { type: site, ...(site === "aws" ? { region: "us-east-1" } : {}) } },
    steps: [{ name: "a", site: "lab", ...step }],
  });
const codes = (text: string) => compileSpec(text).diagnostics.map((d) => `${d.code} ${d.path.join(".")}`);

describe("secret references in the spec", () => {
  it("accepts ssm and secretsmanager references in env and headers, and keeps plain strings", () => {
    const process = { command: ["true"], env: { A: { secret: "ssm:/ferry/api-key" }, B: "plain" } };
    expect(codes(spec("1.1", { process }))).toEqual([]);
    const http = {
      method: "GET",
      url: "https://example.com/",
      headers: { "x-key": { secret: "secretsmanager:ferry/svc#token" } },
    };
    expect(codes(spec("1.1", { http }, "aws"))).toEqual([]);
  });

  it("needs version 1.1", () => {
    const process = { command: ["true"], env: { A: { secret: "ssm:/ferry/api-key" } } };
    expect(codes(spec("", { process }))).toEqual(["NEEDS_VERSION steps.0.process.env.A"]);
  });

  it("names a malformed reference with the accepted forms", () => {
    for (const ref of ["vault:/x", "ssm:a b", "ssm:ferry/x", "secretsmanager:", "secretsmanager:x#"]) {
      const process = { command: ["true"], env: { A: { secret: ref } } };
      const { diagnostics } = compileSpec(spec("1.1", { process }));
      expect(diagnostics.map((d) => `${d.code} ${d.path.join(".")}`)).toEqual([
        "INVALID_SECRET_REF steps.0.process.env.A.secret",
      ]);
      expect(diagnostics[0]!.hint).toContain("secretsmanager:name#jsonKey");
    }
  });

  it("refuses an SSM header on an aws HTTP step (its connection reads Secrets Manager only)", () => {
    const http = { method: "GET", url: "https://example.com/", headers: { k: { secret: "ssm:/x" } } };
    expect(codes(spec("1.1", { http }, "aws"))).toEqual(["UNSUPPORTED_SECRET steps.0.http.headers.k.secret"]);
    expect(codes(spec("1.1", { http }))).toEqual([]);
  });

  it("compiles the reference, never a value: the aws HTTP task's Headers hold plain headers only", () => {
    const http = {
      method: "GET",
      url: "https://example.com/",
      headers: { k: { secret: "secretsmanager:svc" }, p: "plain" },
    };
    const { compiled } = compileSpec(spec("1.1", { http }, "aws"));
    const task = compiled!.stateMachine.definition.States.a as { Parameters: { Headers?: unknown } };
    expect(task.Parameters.Headers).toEqual({ p: "plain" });
    expect(compiled!.manifest.steps.a!.runtime).toMatchObject({
      headers: { k: { secret: "secretsmanager:svc" } },
    });
  });
});

describe("redaction", () => {
  it("replaces every occurrence, longest value first, in text and JSON", () => {
    expect(redactSecrets("k=abc abcdef", ["abc", "abcdef"])).toBe("k=*** ***");
    expect(redactSecretsDeep({ a: ["x-abc"], abc: 1 }, ["abc"])).toEqual({ a: ["x-***"], "***": 1 });
    expect(redactSecrets("unchanged", [""])).toBe("unchanged");
  });

  it("names the override variable after the reference", () => {
    expect(secretOverrideEnvName("ssm:/ferry/api-key")).toBe("FERRY_SECRET_SSM__FERRY_API_KEY");
  });
});
