import { describe, expect, it } from "vitest";
import { DEFAULT_PODMAN_SOCKET, hostUlimits } from "./podman.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            20000                20000                files
`;

describe("podman runtime", () => {
  it("bounds nofile and nproc by this host's hard limits and by a ceiling", () => {
    expect(hostUlimits(LIMITS)).toEqual([
      { name: "nproc", soft: 4096, hard: 4096 },
      { name: "nofile", soft: 20_000, hard: 20_000 },
    ]);
    expect(
      hostUlimits("Max open files            unlimited            unlimited            files\n"),
    ).toEqual([{ name: "nofile", soft: 65_536, hard: 65_536 }]);
  });

  it("talks to podman's system socket by default", () => {
    expect(DEFAULT_PODMAN_SOCKET).toBe("/run/podman/podman.sock");
  });
});
