import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./load-config.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import { StepUser } from "./step-user.ts";

// The real isolation (users, capabilities, /proc) is proven in
// test/security/agent-environment.test.ts; these are the pure parts.
describe("StepUser", () => {
  it("refuses root, and users the device does not have", () => {
    expect(() => StepUser.resolve({ user: "root" })).toThrow(/must not be root/);
    expect(() => StepUser.resolve({ user: 0 as number })).toThrow(/must not be root/);
    expect(() => StepUser.resolve({ user: "ferry-no-such-user-x" })).toThrow(/is not a user on this device/);
    expect(() => StepUser.resolve({ user: 4_000_000_000 })).toThrow(/name its group too/);
  });

  it("starts steps through setpriv with no groups, no capabilities and no_new_privs", () => {
    const user = StepUser.resolve({ user: "nobody" });
    const [file, args] = user.command("sh", ["-c", "true"]);
    expect(file).toMatch(/\/setpriv$/);
    expect(args).toEqual([
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--ambient-caps=-all",
      "--no-new-privs",
      "--",
      "sh",
      "-c",
      "true",
    ]);
  });

  it("gives steps the step user's HOME and USER, and never the whole agent environment", () => {
    const user = StepUser.resolve({ user: "nobody" });
    process.env.FERRY_TEST_AGENT_ONLY = "agent";
    try {
      const runtime = new ProcessRuntime({ inheritEnv: true, stepUser: user });
      const env = (runtime as unknown as { baseEnv: Record<string, string> }).baseEnv;
      expect(env.USER).toBe("nobody");
      expect(env.HOME).toBe(user.home);
      expect(env.FERRY_TEST_AGENT_ONLY).toBeUndefined();
      expect(
        Object.keys(env).every((k) => ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"].includes(k)),
      ).toBe(true);
    } finally {
      delete process.env.FERRY_TEST_AGENT_ONLY;
    }
  });

  it("is configured by steps.user or --step-user, and unset by default", async () => {
    const base = ["--site", "lab", "--queue-url", "http://127.0.0.1:4566/q", "--manifest", "m.json"];
    expect((await loadAgentConfig({ argv: base, env: {}, cwd: "/" })).steps).toEqual({});
    const config = await loadAgentConfig({ argv: [...base, "--step-user", "ferry-step"], env: {}, cwd: "/" });
    expect(config.steps.user).toBe("ferry-step");
  });
});
