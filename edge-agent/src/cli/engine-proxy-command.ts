import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { EngineProxy } from "../engine-proxy/engine-proxy.ts";
import type { AgentCommandIo } from "./agent-command.ts";

/** Usage text of the engine proxy command, under the name it is invoked by. */
export function engineProxyUsage(command: string): string {
  return `Usage: ${command} --listen SOCKET --bind-root DIR [options]

Serves a Docker Engine API socket that forwards only the calls the agent's
container runtime makes, so the agent needs no docker group: containers are
created only with the agent's hardening (no privileges, capabilities, host
namespaces or devices; binds inside --bind-root; no host network or root user
unless allowed), and only containers created through it can be touched.
Run it as a user that may use the engine; point the agent's
engine.socketPath (--engine-socket) at SOCKET.

Options:
  --listen SOCKET            socket to serve (mode 0660)
  --upstream SOCKET          the engine's socket (default /var/run/docker.sock)
  --bind-root DIR            folder binds may come from: the agent's workDir (repeatable)
  --allowed-host-path DIR    host folder steps may bind besides (repeatable; = containers.allowedHostPaths)
  --allow-host-network       let steps use the host network (= containers.allowHostNetwork)
  --allow-root               let root images run as root (= containers.allowRoot)
  --writable-rootfs          (= containers.writableRootfs)
  --allow-gpus               let steps ask for GPUs
  --socket-group NAME|GID    group of SOCKET: the agent's (this user must be in it)
  --id NAME                  label value marking this proxy's containers (default ferry)
  --log-level LEVEL          (default info)

Example:
  ${command} --listen /run/ferry-engine/engine.sock --bind-root /var/lib/ferry/work --socket-group ferry
`;
}

/** A flag missing or malformed: the host prints it with the usage text. */
export class EngineProxyArgumentError extends Error {
  override readonly name = "EngineProxyArgumentError";
}

/**
 * The engine proxy command, shared by `ferry engine-proxy` and
 * `ferry-agent engine-proxy` (what the shipped unit runs): serves until
 * `io.signal` aborts, then returns 0; 1 if it cannot listen. Bad flags
 * throw {@link EngineProxyArgumentError}.
 */
export async function runEngineProxyCommand(
  command: string,
  argv: string[],
  io: AgentCommandIo,
): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    throw new EngineProxyArgumentError((error as Error).message);
  }
  if (values.help) {
    io.stdout(engineProxyUsage(command));
    return 0;
  }
  if (!values.listen) throw new EngineProxyArgumentError("--listen SOCKET is required");
  if (!values["bind-root"]?.length)
    throw new EngineProxyArgumentError("--bind-root DIR is required (the agent's workDir)");
  const group = values["socket-group"];
  const gid = group === undefined ? undefined : groupId(group);
  const logger = pino({ level: values["log-level"] ?? "info" });
  const proxy = new EngineProxy({
    listen: resolve(io.cwd, values.listen),
    upstream: values.upstream ?? "/var/run/docker.sock",
    bindRoots: values["bind-root"].map((dir) => resolve(io.cwd, dir)),
    allowedHostPaths: (values["allowed-host-path"] ?? []).map((dir) => resolve(io.cwd, dir)),
    allowHostNetwork: values["allow-host-network"] ?? false,
    allowRoot: values["allow-root"] ?? false,
    writableRootfs: values["writable-rootfs"] ?? false,
    allowGpus: values["allow-gpus"] ?? false,
    ...(gid !== undefined ? { socketGid: gid } : {}),
    ...(values.id ? { id: values.id } : {}),
    logger,
  });
  try {
    await proxy.listen();
  } catch (error) {
    io.stderr(`${command}: cannot listen on ${values.listen}: ${(error as Error).message}\n`);
    return 1;
  }
  logger.info(
    { listen: values.listen, upstream: values.upstream ?? "/var/run/docker.sock" },
    "engine proxy running",
  );
  await new Promise<void>((done) => {
    if (io.signal.aborted) done();
    else io.signal.addEventListener("abort", () => done(), { once: true });
  });
  await proxy.close();
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      listen: { type: "string" },
      upstream: { type: "string" },
      "bind-root": { type: "string", multiple: true },
      "allowed-host-path": { type: "string", multiple: true },
      "allow-host-network": { type: "boolean" },
      "allow-root": { type: "boolean" },
      "writable-rootfs": { type: "boolean" },
      "allow-gpus": { type: "boolean" },
      "socket-group": { type: "string" },
      id: { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }).values;
}

/** A group name or number as a gid (NSS, through getent). */
function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    return Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);
  } catch {
    throw new EngineProxyArgumentError(`--socket-group: no group named "${group}" (getent group ${group})`);
  }
}
