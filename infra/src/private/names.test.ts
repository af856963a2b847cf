import { describe, expect, it } from "vitest";
import { pascalCase, stateMachineName, UniqueNames } from "./names.ts";

describe("names", () => {
  it("turns ids into PascalCase output keys", () => {
    expect(pascalCase("site-lab")).toBe("SiteLab");
    expect(pascalCase("fn-load_v2")).toBe("FnLoadV2");
  });

  it("keeps colliding names unique", () => {
    const names = new UniqueNames();
    expect([names.take("QueueUrlA"), names.take("QueueUrlA"), names.take("QueueUrlA")]).toEqual([
      "QueueUrlA",
      "QueueUrlA2",
      "QueueUrlA3",
    ]);
  });

  it("builds valid state machine names, at most 80 characters, distinct per construct", () => {
    const long = "w".repeat(64);
    const name = stateMachineName(long, "child-12", "c8aaaa");
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+-child-12-[0-9a-f]{8}$/);
    expect(stateMachineName("hello", "root", "addr-1")).not.toBe(stateMachineName("hello", "root", "addr-2"));
  });
});
