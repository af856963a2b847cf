import { describe, expect, it } from "vitest";
import { tokenCheckOf } from "./token-check.ts";

describe("the token check an agent uses", () => {
  it("reads the history only for a loopback endpoint (LocalStack) unless the config says otherwise", () => {
    expect(tokenCheckOf({})).toBe("heartbeat");
    for (const endpoint of [
      "http://127.0.0.1:4566",
      "http://localhost:4566",
      "http://[::1]:4566",
      "http://127.1.2.3",
    ])
      expect(tokenCheckOf({ endpoint }), endpoint).toBe("history");
    // Private AWS endpoints (VPC, FIPS) are never loopback; their policies grant no history reads.
    for (const endpoint of [
      "https://vpce-0abc.states.eu-west-1.vpce.amazonaws.com",
      "https://states-fips.us-east-1.amazonaws.com",
    ])
      expect(tokenCheckOf({ endpoint }), endpoint).toBe("heartbeat");
    expect(tokenCheckOf({ endpoint: "http://127.0.0.1:4566", tokenCheck: "heartbeat" })).toBe("heartbeat");
    expect(tokenCheckOf({ endpoint: "https://proxy.example.com", tokenCheck: "history" })).toBe("history");
  });
});
