import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { TaskProtection } from "./task-protection.ts";

function recorder() {
  const calls: Array<{ url: string; method: string; body: unknown }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, method: init.method!, body: JSON.parse(String(init.body)) });
    return new Response('{"protection":{"ProtectionEnabled":true}}', { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

describe("TaskProtection", () => {
  it("protects the task from the first running step until the last one finished", async () => {
    // Given a task running two overlapping steps
    const { calls, fetch } = recorder();
    const protection = new TaskProtection({
      agentUri: "http://agent/api/t1/",
      logger: pino({ level: "silent" }),
      fetch,
    });
    // When they start and finish
    protection.acquire("a", 600);
    protection.acquire("b", 60);
    protection.release("a");
    protection.release("b");
    protection.release("b");
    await protection.settled();
    // Then protection was enabled once (covering the timeout) and disabled once, at the endpoint ECS documents
    expect(calls).toEqual([
      {
        url: "http://agent/api/t1/task-protection/v1/state",
        method: "PUT",
        body: { ProtectionEnabled: true, ExpiresInMinutes: 20 },
      },
      {
        url: "http://agent/api/t1/task-protection/v1/state",
        method: "PUT",
        body: { ProtectionEnabled: false },
      },
    ]);
  });

  it("extends the expiry for a longer step and caps it at ECS's 48 hours", async () => {
    const { calls, fetch } = recorder();
    const protection = new TaskProtection({
      agentUri: "http://agent",
      logger: pino({ level: "silent" }),
      fetch,
    });
    protection.acquire("a", 60);
    protection.acquire("b", 10 * 24 * 3600);
    await protection.settled();
    expect(calls.map((c) => c.body)).toEqual([
      { ProtectionEnabled: true, ExpiresInMinutes: 11 },
      { ProtectionEnabled: true, ExpiresInMinutes: 2880 },
    ]);
  });

  it("logs, never throws, when the endpoint cannot be reached", async () => {
    const fetch = (async () => {
      throw new TypeError("fetch failed");
    }) as unknown as typeof globalThis.fetch;
    const protection = new TaskProtection({
      agentUri: "http://agent",
      logger: pino({ level: "silent" }),
      fetch,
    });
    protection.acquire("a", 60);
    await expect(protection.settled()).resolves.toBeUndefined();
  });
});
