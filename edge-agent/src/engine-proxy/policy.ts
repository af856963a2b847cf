import { isAbsolute, normalize } from "node:path";
import { isRootUser } from "../runtimes/container-hardening.ts";

/**
 * What the engine proxy lets through to a create: the hardening the Docker
 * runtime applies, enforced again where an agent-user process cannot skip
 * it. Mirrors `ContainerHardeningOptions` of the agent config.
 */
export interface EngineProxyPolicy {
  /** Folders container binds may come from (the agent's work folder); their real paths are checked. */
  bindRoots: string[];
  /** Host folders steps may bind besides (the agent config's `containers.allowedHostPaths`). @default none */
  allowedHostPaths?: string[];
  /** @default false */
  allowHostNetwork?: boolean;
  /** @default false */
  allowRoot?: boolean;
  /** @default false */
  writableRootfs?: boolean;
  /** Let steps ask for GPUs (`DeviceRequests` with the `gpu` capability only). @default false */
  allowGpus?: boolean;
}

/** The calls the Docker runtime makes, by kind. Anything else is refused. */
export type EngineRoute =
  | { kind: "ping" | "version" | "image-inspect" | "pull" | "create" | "list" }
  | {
      kind: "container";
      action: "inspect" | "attach" | "start" | "wait" | "stop" | "kill" | "remove";
      id: string;
    };

const VERSION = String.raw`(?:/v1\.\d{1,2})?`;
const ID = "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})";
const ROUTES: Array<[method: string, pattern: RegExp, route: (m: RegExpExecArray) => EngineRoute]> = [
  ["GET", new RegExp(`^${VERSION}/_ping$`), () => ({ kind: "ping" })],
  ["HEAD", new RegExp(`^${VERSION}/_ping$`), () => ({ kind: "ping" })],
  ["GET", new RegExp(`^${VERSION}/version$`), () => ({ kind: "version" })],
  [
    "GET",
    new RegExp(`^${VERSION}/images/([A-Za-z0-9][A-Za-z0-9._/:@-]*)/json$`),
    () => ({ kind: "image-inspect" }),
  ],
  ["POST", new RegExp(`^${VERSION}/images/create$`), () => ({ kind: "pull" })],
  ["POST", new RegExp(`^${VERSION}/containers/create$`), () => ({ kind: "create" })],
  ["GET", new RegExp(`^${VERSION}/containers/json$`), () => ({ kind: "list" })],
  ["GET", new RegExp(`^${VERSION}/containers/${ID}/json$`), (m) => container("inspect", m)],
  ["POST", new RegExp(`^${VERSION}/containers/${ID}/attach$`), (m) => container("attach", m)],
  ["POST", new RegExp(`^${VERSION}/containers/${ID}/start$`), (m) => container("start", m)],
  ["POST", new RegExp(`^${VERSION}/containers/${ID}/wait$`), (m) => container("wait", m)],
  ["POST", new RegExp(`^${VERSION}/containers/${ID}/stop$`), (m) => container("stop", m)],
  ["POST", new RegExp(`^${VERSION}/containers/${ID}/kill$`), (m) => container("kill", m)],
  ["DELETE", new RegExp(`^${VERSION}/containers/${ID}$`), (m) => container("remove", m)],
];

function container(
  action: Extract<EngineRoute, { kind: "container" }>["action"],
  match: RegExpExecArray,
): EngineRoute {
  return { kind: "container", action, id: match[1]! };
}

/** The route a request takes, or why it is refused. */
export function routeOf(method: string, url: string): EngineRoute | { refused: string } {
  const [path = "", query = ""] = url.split("?", 2);
  // Encoded characters and dot segments could mean another path to the engine than to this matcher.
  if (/%|\/\.\.?(\/|$)|\/\//.test(path)) return { refused: `${method} ${path}: an unusual path` };
  for (const [m, pattern, route] of ROUTES) {
    const match = m === method ? pattern.exec(path) : null;
    if (!match) continue;
    const found = route(match);
    if (found.kind === "pull" && !new URLSearchParams(query).has("fromImage"))
      return { refused: `${method} ${path}: only pulls (fromImage) are allowed, not imports` };
    return found;
  }
  return { refused: `${method} ${path} is not a call the Ferry runtime makes` };
}

const CREATE_FIELDS = new Set([
  "Image",
  "Cmd",
  "Entrypoint",
  "WorkingDir",
  "Env",
  "Labels",
  "User",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "OpenStdin",
  "StdinOnce",
  "Tty",
  "HostConfig",
]);
const HOST_CONFIG_FIELDS = new Set([
  "NetworkMode",
  "CapDrop",
  "SecurityOpt",
  "ReadonlyRootfs",
  "Tmpfs",
  "PidsLimit",
  "Ulimits",
  "Binds",
  "NanoCpus",
  "Memory",
  "MemorySwap",
  "DeviceRequests",
]);
const BIND_FLAGS = new Set(["ro", "rw", "nosuid", "nodev", "noexec", "z", "Z", "rprivate", "private"]);

/**
 * Why a container create body breaks the policy, or undefined. Binds are
 * checked here by their path text; their real paths (symlinks resolved)
 * must be checked too ({@link bindSources}). A missing `User` is decided by
 * the caller from the image's configured user.
 */
export function createProblem(body: unknown, policy: EngineProxyPolicy): string | undefined {
  if (!isObject(body)) return "the create body is not a JSON object";
  for (const key of Object.keys(body)) if (!CREATE_FIELDS.has(key)) return `${key} is not allowed`;
  if (typeof body.Image !== "string" || body.Image === "") return "Image must be named";
  if (
    body.User !== undefined &&
    (typeof body.User !== "string" || (isRootUser(body.User) && !policy.allowRoot))
  )
    return `User ${JSON.stringify(body.User)}: root is not allowed`;
  const host = body.HostConfig;
  if (!isObject(host)) return "HostConfig is required";
  for (const key of Object.keys(host))
    if (!HOST_CONFIG_FIELDS.has(key)) return `HostConfig.${key} is not allowed`;
  const network = host.NetworkMode;
  if (!(network === "none" || network === "bridge" || (network === "host" && policy.allowHostNetwork)))
    return `HostConfig.NetworkMode ${JSON.stringify(network)} is not allowed (none or bridge${policy.allowHostNetwork ? " or host" : ""})`;
  if (!Array.isArray(host.CapDrop) || !host.CapDrop.includes("ALL"))
    return "HostConfig.CapDrop must hold ALL";
  if (!Array.isArray(host.SecurityOpt) || host.SecurityOpt.join(",") !== "no-new-privileges")
    return "HostConfig.SecurityOpt must be exactly [no-new-privileges]";
  if (host.ReadonlyRootfs !== true && !policy.writableRootfs) return "HostConfig.ReadonlyRootfs must be true";
  if (typeof host.PidsLimit !== "number" || host.PidsLimit <= 0) return "HostConfig.PidsLimit must be set";
  if (host.Memory !== undefined && host.MemorySwap !== host.Memory)
    return "HostConfig.MemorySwap must equal HostConfig.Memory";
  if (host.Tmpfs !== undefined) {
    if (!isObject(host.Tmpfs)) return "HostConfig.Tmpfs must be a map";
    for (const [target, options] of Object.entries(host.Tmpfs)) {
      const flags = String(options).split(",");
      if (!isAbsolute(target) || !flags.includes("nosuid") || !flags.includes("nodev"))
        return `HostConfig.Tmpfs ${target}: must be nosuid,nodev`;
    }
  }
  if (host.DeviceRequests !== undefined) {
    const gpuOnly =
      Array.isArray(host.DeviceRequests) &&
      host.DeviceRequests.every(
        (r) => isObject(r) && !r.DeviceIDs && JSON.stringify(r.Capabilities) === '[["gpu"]]',
      );
    if (!policy.allowGpus || !gpuOnly) return "HostConfig.DeviceRequests is not allowed";
  }
  if (host.Binds !== undefined) {
    if (!Array.isArray(host.Binds)) return "HostConfig.Binds must be a list";
    for (const bind of host.Binds) {
      const problem = bindProblem(bind, policy);
      if (problem) return `HostConfig.Binds ${JSON.stringify(bind)}: ${problem}`;
    }
  }
  return undefined;
}

/** Host paths of a create body's binds (after {@link createProblem} passed). */
export function bindSources(body: Record<string, unknown>): string[] {
  const binds = (body.HostConfig as { Binds?: string[] } | undefined)?.Binds ?? [];
  return binds.map((bind) => bind.split(":")[0]!);
}

/** True when `path` is `root` or inside it. */
export function isWithin(path: string, root: string): boolean {
  const base = root.replace(/\/+$/, "");
  return path === base || path.startsWith(`${base}/`);
}

/** The folders a bind source may be in under the policy. */
export function allowedRoots(policy: EngineProxyPolicy): string[] {
  return [...policy.bindRoots, ...(policy.allowedHostPaths ?? [])];
}

function bindProblem(bind: unknown, policy: EngineProxyPolicy): string | undefined {
  if (typeof bind !== "string") return "not a string";
  const [source = "", target = "", flags = "", ...rest] = bind.split(":");
  if (rest.length > 0 || !isAbsolute(source) || !isAbsolute(target))
    return "must be /host/path:/path[:flags]";
  if (normalize(source) !== source || source.split("/").includes("..")) return "the host path is not normal";
  for (const flag of flags ? flags.split(",") : [])
    if (!BIND_FLAGS.has(flag)) return `flag ${flag} is not allowed`;
  if (!allowedRoots(policy).some((root) => isWithin(source, root)))
    return `host folder outside ${allowedRoots(policy).join(", ")}`;
  return bindRootProblem(source, policy.bindRoots);
}

/**
 * Under a bind root (the work folder) only what the runtime binds: a folder
 * inside it, never the root itself, and nothing under a dot folder (the
 * agent's own state, `.agent`, names processes it kills after a crash).
 */
export function bindRootProblem(source: string, bindRoots: readonly string[]): string | undefined {
  for (const root of bindRoots) {
    if (!isWithin(source, root)) continue;
    const inside = source.slice(root.replace(/\/+$/, "").length).split("/").filter(Boolean);
    if (inside.length === 0) return `the whole of ${root} may not be bound, only folders inside it`;
    if (inside.some((segment) => segment.startsWith(".")))
      return `${source} is under a dot folder of ${root}`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
