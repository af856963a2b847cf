import { describe, expect, it } from "vitest";
import { hardenedHostConfig, jobBinds } from "../runtimes/container-hardening.ts";
import { createProblem, routeOf } from "./policy.ts";

const policy = { bindRoots: ["/var/lib/ferry/work"] };

/** What the Docker runtime sends for a step with one input. */
function runtimeBody(): Record<string, unknown> & { HostConfig: Record<string, unknown> } {
  return {
    Image: "ferry-test/busybox:1",
    Cmd: ["sh", "-c", "true"],
    Env: ["FERRY_STEP=s"],
    Labels: { "dev.ferry.step": "s" },
    User: "65534:65534",
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    HostConfig: {
      ...hardenedHostConfig(
        "s",
        { network: "none", volumes: [] },
        jobBinds("/var/lib/ferry/work/job-1-1-s", "/ferry/job", ["in.txt"], []),
        {},
        [],
      ),
      NanoCpus: 1e9,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
    },
  };
}

describe("engine proxy policy", () => {
  it("given what the Docker runtime creates, then it passes", () => {
    expect(createProblem(runtimeBody(), policy)).toBeUndefined();
  });

  it.each([
    [
      "privileged",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Privileged = true),
      /Privileged is not allowed/,
    ],
    [
      "added capabilities",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.CapAdd = ["SYS_ADMIN"]),
      /CapAdd/,
    ],
    ["host pid namespace", (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.PidMode = "host"), /PidMode/],
    [
      "devices",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Devices = [{ PathOnHost: "/dev/sda" }]),
      /Devices/,
    ],
    [
      "mounts",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Mounts = [{ Type: "bind", Source: "/" }]),
      /Mounts/,
    ],
    [
      "host network",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.NetworkMode = "host"),
      /NetworkMode "host"/,
    ],
    [
      "another container's network",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.NetworkMode = "container:x"),
      /NetworkMode/,
    ],
    ["the host root", (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Binds = ["/:/host"]), /outside/],
    [
      "a dot-dot bind",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Binds = ["/var/lib/ferry/work/../../../etc:/x"]),
      /not normal/,
    ],
    [
      "the whole work folder",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Binds = ["/var/lib/ferry/work:/w"]),
      /only folders inside it/,
    ],
    [
      "the agent's state folder",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Binds = ["/var/lib/ferry/work/.agent/groups:/g"]),
      /dot folder/,
    ],
    [
      "a relative (named volume) bind",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.Binds = ["vol:/x"]),
      /must be/,
    ],
    [
      "unconfined seccomp",
      (b: ReturnType<typeof runtimeBody>) =>
        (b.HostConfig.SecurityOpt = ["no-new-privileges", "seccomp=unconfined"]),
      /SecurityOpt/,
    ],
    ["capabilities kept", (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.CapDrop = []), /CapDrop/],
    [
      "a writable root",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.ReadonlyRootfs = false),
      /ReadonlyRootfs/,
    ],
    ["no pids limit", (b: ReturnType<typeof runtimeBody>) => delete b.HostConfig.PidsLimit, /PidsLimit/],
    ["swap on top", (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.MemorySwap = -1), /MemorySwap/],
    ["root", (b: ReturnType<typeof runtimeBody>) => (b.User = "0"), /root is not allowed/],
    [
      "volumes from another container",
      (b: ReturnType<typeof runtimeBody>) => (b.HostConfig.VolumesFrom = ["x"]),
      /VolumesFrom/,
    ],
    [
      "an unknown top-level field",
      (b: ReturnType<typeof runtimeBody>) => (b.Healthcheck = {}),
      /Healthcheck is not allowed/,
    ],
  ])("given %s, then the create is refused", (_what, change, reason) => {
    const body = runtimeBody();
    change(body);
    expect(createProblem(body, policy)).toMatch(reason);
  });

  it("allows what the policy allows: host network, root, an allowed host path", () => {
    const body = runtimeBody();
    body.HostConfig.NetworkMode = "host";
    body.User = "root";
    body.HostConfig.Binds = ["/srv/data:/data:ro"];
    expect(
      createProblem(body, {
        ...policy,
        allowHostNetwork: true,
        allowRoot: true,
        allowedHostPaths: ["/srv/data"],
      }),
    ).toBeUndefined();
  });

  it("routes only the runtime's calls", () => {
    expect(routeOf("GET", "/_ping")).toEqual({ kind: "ping" });
    expect(routeOf("GET", "/v1.41/images/ferry-test/busybox:1/json")).toEqual({ kind: "image-inspect" });
    expect(routeOf("POST", "/images/create?fromImage=x&tag=1")).toEqual({ kind: "pull" });
    expect(routeOf("POST", "/containers/abc/attach?stream=1")).toEqual({
      kind: "container",
      action: "attach",
      id: "abc",
    });
    expect(routeOf("DELETE", "/containers/abc?force=true")).toEqual({
      kind: "container",
      action: "remove",
      id: "abc",
    });
    for (const [method, url] of [
      ["POST", "/containers/abc/exec"],
      ["POST", "/exec/abc/start"],
      ["GET", "/containers/abc/archive?path=/"],
      ["PUT", "/containers/abc/archive?path=/"],
      ["POST", "/build"],
      ["POST", "/images/create?fromSrc=-"],
      ["POST", "/volumes/create"],
      ["POST", "/networks/create"],
      ["GET", "/info"],
      ["POST", "/session"],
      ["POST", "/containers/abc/start/../exec"],
      ["POST", "/containers/abc%2fexec/start"],
      ["POST", "//containers/create"],
    ] as const)
      expect(routeOf(method, url)).toHaveProperty("refused");
  });
});
