import { readFileSync } from "node:fs";
import { DockerRuntime, type DockerRuntimeOptions } from "./docker.ts";

/** podman's Docker-compatible API socket when run as a system service (`podman system service`). */
export const DEFAULT_PODMAN_SOCKET = "/run/podman/podman.sock";

/**
 * Runs `container` steps through podman's Docker-compatible API: the Docker
 * runtime pointed at podman's socket, with the same contract and defaults.
 * Containers get bounded `nofile`/`nproc` limits (see {@link hostUlimits}),
 * because podman's defaults exceed what hosts (and sandboxes) with tighter
 * limits allow, and runc then refuses to start ("error setting rlimit …
 * operation not permitted").
 */
export function createPodmanRuntime(options: DockerRuntimeOptions = {}): DockerRuntime {
  return new DockerRuntime({
    socketPath: DEFAULT_PODMAN_SOCKET,
    ulimits: hostUlimits(),
    bindOptions: ["nosuid", "nodev"],
    ...options,
    name: options.name ?? "podman",
  });
}

const LIMITS: Record<string, { name: string; ceiling: number }> = {
  "Max open files": { name: "nofile", ceiling: 65_536 },
  "Max processes": { name: "nproc", ceiling: 4096 },
};

/**
 * `nofile` and `nproc` for task containers: this process's hard limits from
 * /proc/self/limits, capped at 65,536 open files and 4,096 processes
 * (the podman service may run with lower limits than the agent). Empty
 * off Linux.
 */
export function hostUlimits(limitsText?: string): Array<{ name: string; soft: number; hard: number }> {
  let text = limitsText;
  try {
    text ??= readFileSync("/proc/self/limits", "utf8");
  } catch {
    // Not Linux: podman's defaults apply.
    return [];
  }
  const out: Array<{ name: string; soft: number; hard: number }> = [];
  for (const line of text.split("\n")) {
    for (const [label, { name, ceiling }] of Object.entries(LIMITS)) {
      if (!line.startsWith(label)) continue;
      const [, hard] = line.slice(label.length).trim().split(/\s+/);
      const value = hard === "unlimited" ? ceiling : Math.min(Number(hard), ceiling);
      if (Number.isFinite(value)) out.push({ name, soft: value, hard: value });
    }
  }
  return out;
}
