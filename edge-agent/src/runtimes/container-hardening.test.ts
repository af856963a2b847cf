import { describe, expect, it } from "vitest";
import { hardenedHostConfig } from "./container-hardening.ts";

// Two gates for host access: the spec's allowHost (carried in the manifest
// step) and the agent config's allow-list. Neither alone is enough.
const hostNet = { network: "host" as const, volumes: [] };
const hostDir = {
  network: "none" as const,
  volumes: [{ hostPath: "/data/in", containerPath: "/in", readOnly: true }],
};
const configAllows = { allowHostNetwork: true, allowedHostPaths: ["/data"] };

describe("hardenedHostConfig host access", () => {
  it("refuses the host network and host folders when the manifest step lacks allowHost, even if the config allows them", () => {
    for (const runtime of [hostNet, hostDir, { ...hostNet, allowHost: false }]) {
      expect(() => hardenedHostConfig("s", runtime, [], configAllows, [])).toThrow(
        expect.objectContaining({
          code: "CONFIG_INVALID",
          message: expect.stringContaining("lacks allowHost: true"),
        }),
      );
    }
  });

  it("refuses them when the step has allowHost but the agent config does not allow them", () => {
    expect(() => hardenedHostConfig("s", { ...hostNet, allowHost: true }, [], {}, [])).toThrow(
      /containers\.allowHostNetwork/,
    );
    expect(() => hardenedHostConfig("s", { ...hostDir, allowHost: true }, [], {}, [])).toThrow(
      /not in containers\.allowedHostPaths/,
    );
  });

  it("grants them when both the step and the config allow them", () => {
    expect(hardenedHostConfig("s", { ...hostNet, allowHost: true }, [], configAllows, [])).toMatchObject({
      NetworkMode: "host",
    });
    expect(hardenedHostConfig("s", { ...hostDir, allowHost: true }, [], configAllows, [])).toMatchObject({
      Binds: ["/data/in:/in:ro"],
    });
  });

  it("needs no allowHost for a step without host access", () => {
    expect(hardenedHostConfig("s", { network: "bridge", volumes: [] }, [], {}, [])).toMatchObject({
      NetworkMode: "bridge",
    });
  });
});
