import type Dockerode from "dockerode";
import { AgentError } from "../errors.ts";

/**
 * What the agent config may relax in every task container. The spec alone
 * never can: a step asking for the host network or a host folder runs only
 * where the device's owner allowed it — and only when its manifest step
 * carries the spec's `allowHost: true` too, so a config allowance is never
 * used by a step that did not ask for it explicitly.
 */
export interface ContainerHardeningOptions {
  /** Let an image whose user is root run as root. @default false (such images run as 65534:65534) */
  allowRoot?: boolean;
  /** Let steps with `network: host` run. @default false */
  allowHostNetwork?: boolean;
  /** Host folders steps may bind (each a prefix); others are refused. @default none */
  allowedHostPaths?: string[];
  /** Writable root filesystem. @default false (read-only, with a tmpfs `/tmp`) */
  writableRootfs?: boolean;
  /** Processes a container may hold. @default 256 */
  pidsLimit?: number;
  /** Size of the tmpfs at `/tmp`. @default 64 */
  tmpfsMiB?: number;
  /** @default nofile 1024, core 0 */
  ulimits?: Array<{ name: string; soft: number; hard: number }>;
}

/** The unprivileged user steps of root images run as. */
export const NOBODY = "65534:65534";

const DEFAULT_ULIMITS = [
  { name: "nofile", soft: 1024, hard: 1024 },
  { name: "core", soft: 0, hard: 0 },
];

/** True when an image's configured user is root (empty means root). */
export function isRootUser(user: string | undefined): boolean {
  const name = (user ?? "").split(":")[0]!;
  return name === "" || name === "0" || name === "root";
}

/**
 * The locked-down parts of a container's HostConfig. `bindOptions` is added
 * to every bind (`nosuid,nodev` on podman; Docker's bind syntax has no such
 * flags, and there no-new-privileges plus the dropped CAP_MKNOD make setuid
 * files and device nodes inert).
 */
export function hardenedHostConfig(
  step: string,
  runtime: {
    network: "none" | "host" | "bridge";
    volumes: Array<{ hostPath: string; containerPath: string; readOnly: boolean }>;
    allowHost?: boolean;
  },
  binds: string[],
  options: ContainerHardeningOptions,
  bindOptions: string[],
): Dockerode.HostConfig {
  if ((runtime.network === "host" || runtime.volumes.length > 0) && runtime.allowHost !== true) {
    const what =
      runtime.network === "host" ? "the host network" : `host folder "${runtime.volumes[0]!.hostPath}"`;
    throw new AgentError(
      "CONFIG_INVALID",
      `step "${step}" asks for ${what}, but its manifest step lacks allowHost: true — add allowHost: true to the step's container in the spec and recompile`,
    );
  }
  if (runtime.network === "host" && !options.allowHostNetwork) {
    throw new AgentError(
      "CONFIG_INVALID",
      `step "${step}" asks for the host network, which this agent does not allow — set containers.allowHostNetwork: true in the agent config to permit it`,
    );
  }
  const allowed = options.allowedHostPaths ?? [];
  for (const volume of runtime.volumes) {
    const ok = allowed.some(
      (prefix) => volume.hostPath === prefix || volume.hostPath.startsWith(`${prefix.replace(/\/+$/, "")}/`),
    );
    if (!ok || volume.hostPath.split("/").includes("..")) {
      throw new AgentError(
        "CONFIG_INVALID",
        `step "${step}" binds host folder "${volume.hostPath}", which is not in containers.allowedHostPaths of the agent config (${allowed.join(", ") || "none"})`,
      );
    }
  }
  const flags = (readOnly: boolean) => [readOnly ? "ro" : "rw", ...bindOptions].join(",");
  return {
    NetworkMode: runtime.network,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    ReadonlyRootfs: !options.writableRootfs,
    Tmpfs: { "/tmp": `rw,nosuid,nodev,noexec,size=${options.tmpfsMiB ?? 64}m` },
    PidsLimit: options.pidsLimit ?? 256,
    Ulimits: (options.ulimits ?? DEFAULT_ULIMITS).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    Binds: [...binds, ...runtime.volumes.map((v) => `${v.hostPath}:${v.containerPath}:${flags(v.readOnly)}`)],
  };
}

/** Bind flags for a job folder and its read-only inputs. */
export function jobBinds(
  jobDir: string,
  containerDir: string,
  inputs: string[],
  bindOptions: string[],
): string[] {
  const rest = bindOptions.length > 0 ? `,${bindOptions.join(",")}` : "";
  return [
    `${jobDir}:${containerDir}:rw${rest}`,
    // Inputs on top, read-only: a step cannot alter what it was given.
    ...inputs.map((name) => `${jobDir}/${name}:${containerDir}/${name}:ro${rest}`),
  ];
}
