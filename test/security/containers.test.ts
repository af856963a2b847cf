import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import { CONTAINER_LABEL, DockerRuntime } from "@ferry/edge-agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerShStep, type TestStep } from "../../edge-agent/src/testing/fixtures.ts";
import { dockerApi, dockerSocket, requireTestImage, TEST_IMAGE } from "../support/env.ts";
import { runMessage, startWorker, stepMessage } from "./harness.ts";

interface Inspected {
  Config: { User: string; Env: string[]; Labels: Record<string, string> };
  HostConfig: {
    ReadonlyRootfs: boolean;
    Tmpfs: Record<string, string>;
    PidsLimit: number;
    Memory: number;
    MemorySwap: number;
    CapDrop: string[];
    SecurityOpt: string[];
    NetworkMode: string;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
    Binds: string[];
  };
}

// Container escape settings: the created container is inspected on the real
// engine while the step runs, and the step itself tries what an attacker would.
describe("container hardening (real engine)", () => {
  const execution = `sec-box-${Date.now()}`;
  const box = (name: string, script: string, extra: Partial<TestStep> = {}) =>
    containerShStep(name, TEST_IMAGE, script, extra);
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    await requireTestImage();
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  async function worker(steps: TestStep[], options: ConstructorParameters<typeof DockerRuntime>[0] = {}) {
    const runtime = new DockerRuntime({ socketPath: dockerSocket(), pullPolicy: "never", ...options });
    const started = await startWorker("secbox", steps, { runtimes: { container: runtime } });
    stops.push(() => started.worker.stop({ graceMs: 0 }));
    return started;
  }

  it("creates the container read-only, unprivileged and bounded, with no input in its environment", async () => {
    const { queue, completion } = await worker([
      box("probe", "sleep 2; echo '{}'", { resources: { cpu: 0.5, memoryMiB: 64, gpu: 0 } }),
    ]);
    const message = stepMessage({
      workflow: "secbox",
      step: "probe",
      execution,
      input: { input: { pin: "4711-secret" }, deps: {} },
    });
    const answered = runMessage(queue, completion, message);
    let inspected: Inspected | undefined;
    for (let i = 0; i < 100 && !inspected; i++) {
      const filters = encodeURIComponent(JSON.stringify({ label: [`dev.ferry.execution=${execution}`] }));
      const list = JSON.parse((await dockerApi("GET", `/containers/json?filters=${filters}`)).body) as {
        Id: string;
      }[];
      if (list[0])
        inspected = JSON.parse((await dockerApi("GET", `/containers/${list[0].Id}/json`)).body) as Inspected;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(await answered).toMatchObject({ kind: "success" });
    expect(inspected, "the step's container was never seen running").toBeDefined();
    const { Config, HostConfig } = inspected!;
    expect(Config.Labels[CONTAINER_LABEL]).toBe("probe");
    expect(Config.User).toBe("65534:65534");
    expect(Config.Env.join("\n")).not.toContain("4711-secret");
    expect(Config.Env.some((e) => e.startsWith("FERRY_INPUT="))).toBe(false);
    expect(HostConfig.ReadonlyRootfs).toBe(true);
    expect(HostConfig.Tmpfs["/tmp"]).toMatch(/nosuid.*nodev/);
    expect(HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(HostConfig.MemorySwap).toBe(HostConfig.Memory);
    expect(HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(HostConfig.CapDrop).toEqual(["ALL"]);
    expect(HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(HostConfig.NetworkMode).toBe("none");
    expect(HostConfig.Ulimits.map((u) => u.Name)).toContain("nofile");
  });

  it("a step cannot write the root filesystem, runs as nobody, cannot fork past the pids limit, and cannot alter its input", async () => {
    const { queue, completion } = await worker(
      [
        box(
          "escape",
          [
            "touch /etc/owned 2>/dev/null && root=yes || root=no",
            "touch /tmp/scratch && tmp=yes || tmp=no",
            'echo x >> "$FERRY_JOB_DIR/.input.json" 2>/dev/null; cat "$FERRY_INPUT_FILE" > /dev/null',
            'printf \'{"uid":"%s","root":"%s","tmp":"%s"}\\n\' "$(id -u)" "$root" "$tmp"',
          ].join("; "),
        ),
        box("forkbomb", 'for i in $(seq 1 64); do sleep 5 & done; wait; echo "{}"'),
      ],
      { pidsLimit: 16 },
    );
    const breakout = await runMessage(
      queue,
      completion,
      stepMessage({ workflow: "secbox", step: "escape", execution }),
    );
    expect(breakout).toMatchObject({ kind: "success", output: { uid: "65534", root: "no", tmp: "yes" } });
    const bomb = await runMessage(
      queue,
      completion,
      stepMessage({ workflow: "secbox", step: "forkbomb", execution }),
    );
    expect(bomb).toMatchObject({ kind: "failure", error: FERRY_ERRORS.exitCode });
  });

  it("host network and host folders asked for by the spec are refused unless the agent config allow-lists them", async () => {
    const { queue, completion } = await worker(hostSteps(true));
    for (const step of ["hostnet", "hostdir"]) {
      const record = await runMessage(
        queue,
        completion,
        stepMessage({ workflow: "secbox", step, execution }),
      );
      expect(record, step).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
      expect((record as { cause: string }).cause, step).toMatch(/agent config/);
    }
  });

  it("host network and host folders the agent config allows are refused when the manifest step lacks allowHost", async () => {
    const { queue, completion } = await worker(hostSteps(false), {
      allowHostNetwork: true,
      allowedHostPaths: ["/etc"],
    });
    for (const step of ["hostnet", "hostdir"]) {
      const record = await runMessage(
        queue,
        completion,
        stepMessage({ workflow: "secbox", step, execution }),
      );
      expect(record, step).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
      expect((record as { cause: string }).cause, step).toMatch(/lacks allowHost: true/);
    }
  });

  /** A step asking for the host network and one binding host /etc, with or without the spec's allowHost. */
  function hostSteps(allowHost: boolean): TestStep[] {
    const grant = allowHost ? { allowHost: true as const } : {};
    const [net, dir] = [box("hostnet", 'echo "{}"', {}), box("hostdir", 'ls /host; echo "{}"', {})];
    return [
      { ...net, runtime: { ...net.runtime, network: "host" as const, ...grant } },
      {
        ...dir,
        runtime: {
          ...dir.runtime,
          volumes: [{ hostPath: "/etc", containerPath: "/host", readOnly: true }],
          ...grant,
        },
      },
    ] as TestStep[];
  }
});
