import { describe, expect, it } from "vitest";
import { UsageError } from "../command.ts";
import { main } from "../main.ts";
import { recordingIo } from "../testing-io.ts";
import { waitSettings } from "./follow-execution.ts";

describe("waitSettings", () => {
  it("defaults to an hour and reads the flags", () => {
    expect(waitSettings({})).toEqual({ wait: false, timeoutMs: 3_600_000, quiet: false, json: false });
    expect(waitSettings({ wait: true, json: true, "timeout-seconds": "90" })).toEqual({
      wait: true,
      timeoutMs: 90_000,
      quiet: false,
      json: true,
    });
  });

  it("refuses a bad timeout and --json without --wait", () => {
    expect(() => waitSettings({ "timeout-seconds": "0" })).toThrow(UsageError);
    expect(() => waitSettings({ "timeout-seconds": "soon" })).toThrow('got "soon"');
    expect(() => waitSettings({ json: true })).toThrow("--json needs --wait");
  });
});

describe("ferry stop and ferry redrive usage", () => {
  it("exit 2 without an execution ARN, before any AWS call", async () => {
    for (const command of ["stop", "redrive"]) {
      const io = recordingIo();
      expect(await main([command, "hello"], io)).toBe(2);
      expect(io.err).toContain("name one execution ARN");
      expect(io.err).toContain(`Usage: ferry ${command} <execution-arn>`);
    }
    const io = recordingIo();
    expect(await main(["redrive", "arn:aws:states:us-east-1:1:execution:a:b", "--json"], io)).toBe(2);
    expect(io.err).toContain("--json needs --wait");
  });

  it("are listed in ferry --help", async () => {
    const io = recordingIo();
    expect(await main(["--help"], io)).toBe(0);
    expect(io.out).toMatch(/ stop +stop a running execution/);
    expect(io.out).toMatch(/ redrive +restart a failed execution/);
  });
});
