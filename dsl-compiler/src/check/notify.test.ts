import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";

const spec = (version: string, notify: unknown) =>
  JSON.stringify({
    ...(version ? { version } : {}),
    name: "told",
    sites: { lab: { type: "edge" } },
    steps: [{ name: "a", site: "lab", process: { command: ["true"] } }],
    notify,
  });
const codes = (text: string) => compileSpec(text).diagnostics.map((d) => `${d.code} ${d.path.join(".")}`);

describe("notify:", () => {
  it("takes a topic ARN or { create: true } and carries it into the IR, leaving the ASL alone", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:runs";
    expect(compileSpec(spec("1.1", { sns: arn })).compiled?.ir.notify).toEqual({ sns: { topicArn: arn } });
    const created = compileSpec(spec("1.1", { sns: { create: true } })).compiled!;
    expect(created.ir.notify).toEqual({ sns: { create: true } });
    const plain = compileSpec(spec("1.1", undefined)).compiled!;
    expect(created.stateMachine.definition).toEqual(plain.stateMachine.definition);
  });

  it("needs version 1.1", () => {
    expect(codes(spec("", { sns: { create: true } }))).toEqual(["NEEDS_VERSION notify"]);
  });

  it("refuses what is not a topic", () => {
    expect(codes(spec("1.1", { sns: "arn:aws:sqs:us-east-1:123456789012:q" })).length).toBeGreaterThan(0);
    expect(codes(spec("1.1", { sns: { create: false } })).length).toBeGreaterThan(0);
    expect(codes(spec("1.1", { http: "https://example.com/" })).length).toBeGreaterThan(0);
  });
});
