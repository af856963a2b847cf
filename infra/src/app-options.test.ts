import { describe, expect, it } from "vitest";
import { resolveAppOptions } from "./app-options.ts";

const context = (values: Record<string, unknown>) => (key: string) => values[key];

describe("resolveAppOptions", () => {
  it("given -c spec=…, when resolved, then defaults apply and paths are absolute", () => {
    expect(resolveAppOptions(context({ spec: "examples/hello/workflow.yaml" }), "/repo")).toEqual({
      specs: ["/repo/examples/hello/workflow.yaml"],
      projectRoot: "/repo",
      target: "aws",
      nag: true,
    });
  });

  it("given several specs and options as strings, when resolved, then each is read", () => {
    const options = resolveAppOptions(
      context({ spec: "a.yaml, b.yaml", target: "localstack", nag: "false", projectRoot: "sub" }),
      "/repo",
    );
    expect(options).toEqual({
      specs: ["/repo/a.yaml", "/repo/b.yaml"],
      projectRoot: "/repo/sub",
      target: "localstack",
      nag: false,
    });
  });

  it("given no spec, when resolved, then the error shows the usage", () => {
    expect(() => resolveAppOptions(context({}), "/repo")).toThrow(
      "context.spec: no workflow spec given, got undefined; usage: npx cdk synth -c spec=",
    );
  });

  it("given an unknown target, when resolved, then the error shows the value", () => {
    expect(() => resolveAppOptions(context({ spec: "a.yaml", target: "gcp" }), "/repo")).toThrow(
      'must be "aws" or "localstack", got "gcp"',
    );
  });
});
