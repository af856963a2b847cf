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

  it("given -c splitLimit=120, when resolved, then the compile option is passed on", () => {
    expect(resolveAppOptions(context({ spec: "a.yaml", splitLimit: "120" }), "/repo")).toMatchObject({
      splitLimit: 120,
    });
  });

  it.each([
    ["abc", 'must be a whole number of history events, got "abc"'],
    ["", 'must be a whole number of history events, got ""'],
    ["0", "must be at least 12"],
    ["12.5", "must be a whole number"],
    ["99999", "must be at most 6000"],
  ])("given -c splitLimit=%j, when resolved, then it is refused naming the value", (value, message) => {
    expect(() => resolveAppOptions(context({ spec: "a.yaml", splitLimit: value }), "/repo")).toThrow(
      `context.splitLimit: ${message}`,
    );
  });
});
