import { chmod, chown, lstat, realpath, rm } from "node:fs/promises";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Duplex } from "node:stream";
import { type Logger, SILENT_LOGGER } from "@ferry/functions/worker";
import { isRootUser } from "../runtimes/container-hardening.ts";
import {
  allowedRoots,
  bindRootProblem,
  bindSources,
  createProblem,
  type EngineProxyPolicy,
  type EngineRoute,
  isWithin,
  routeOf,
} from "./policy.ts";

/** Label the proxy stamps on every container it creates; only such containers can be touched through it. */
export const PROXY_LABEL = "dev.ferry.engine-proxy";

/** Largest create body accepted (a step's env and command included). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface EngineProxyOptions extends EngineProxyPolicy {
  /** Unix socket the agent connects to (its `engine.socketPath`). */
  listen: string;
  /** The engine's own socket (`/var/run/docker.sock`, podman's). */
  upstream: string;
  /** Value of {@link PROXY_LABEL} on this proxy's containers. @default "ferry" */
  id?: string;
  /** Mode of the listening socket. @default 0o660 */
  socketMode?: number;
  /** Group (gid) given the listening socket, e.g. the agent's. @default unchanged */
  socketGid?: number;
  /** @default silent */
  logger?: Logger;
}

/**
 * A Docker Engine API proxy that lets an agent run containers without the
 * `docker` group (which is root on the host): it forwards only the calls the
 * Docker runtime makes (ping, image inspect and pull, create, list, and
 * inspect/attach/start/wait/stop/kill/remove of containers it created
 * itself), refuses everything else with 403, and refuses creates that break
 * the hardening policy: privileged or added capabilities, host namespaces,
 * devices, binds outside the work folder (real paths, checked again at
 * start), host network, root users, writable roots. The agent's user (and a
 * step running as it) reaches the engine only through it.
 */
export class EngineProxy {
  private readonly server: Server;
  private readonly id: string;
  private readonly logger: Logger;
  /** Full ids of containers this proxy created or found labelled as its own. */
  private readonly owned = new Set<string>();

  constructor(private readonly options: EngineProxyOptions) {
    this.id = options.id ?? "ferry";
    this.logger = options.logger ?? SILENT_LOGGER;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    });
    // `wait` and `attach` last as long as the step.
    this.server.requestTimeout = 0;
    this.server.timeout = 0;
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((error: unknown) => {
        this.logger.error({ err: error }, "engine proxy: attach failed");
        socket.destroy();
      });
    });
  }

  /** Listens on the socket (replacing a stale one) and applies its mode and group. */
  async listen(): Promise<void> {
    const stale = await lstat(this.options.listen).catch(() => undefined);
    if (stale?.isSocket()) await rm(this.options.listen);
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.listen, () => resolve());
    });
    if (this.options.socketGid !== undefined) await chown(this.options.listen, -1, this.options.socketGid);
    await chmod(this.options.listen, this.options.socketMode ?? 0o660);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = routeOf(req.method ?? "", req.url ?? "");
    if ("refused" in route) return this.refuse(res, route.refused);
    if (route.kind === "create") return this.create(req, res);
    if (route.kind === "list") {
      await this.forward(req, res, { path: this.ownListPath(req.url!) });
      return;
    }
    if (route.kind === "container") {
      const problem = await this.containerProblem(route);
      if (problem) return this.refuse(res, `${req.method} ${req.url}: ${problem}`);
      if (route.action === "remove")
        res.once("finish", () => {
          if (res.statusCode < 300) this.owned.delete(route.id);
        });
    }
    await this.forward(req, res);
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (text === undefined) return this.refuse(res, `create body over ${MAX_BODY_BYTES} bytes`);
    let body: Record<string, unknown> & { Labels?: Record<string, string> };
    try {
      body = JSON.parse(text);
    } catch {
      return this.refuse(res, "the create body is not JSON");
    }
    const problem = createProblem(body, this.options) ?? (await this.realBindProblem(bindSources(body)));
    if (problem) return this.refuse(res, `create: ${problem}`);
    if (body.User === undefined || body.User === "") {
      const imageUser = await this.imageUser(String(body.Image));
      if (imageUser !== undefined && isRootUser(imageUser) && !this.options.allowRoot)
        return this.refuse(res, `create: image ${String(body.Image)} runs as root and User is not set`);
    }
    body.Labels = { ...(body.Labels ?? {}), [PROXY_LABEL]: this.id };
    const answer = await this.forward(req, res, { body: JSON.stringify(body), keep: true });
    if (answer.status === 201) {
      const id = (JSON.parse(answer.text) as { Id?: unknown }).Id;
      if (typeof id === "string") this.owned.add(id);
    }
  }

  /** Why a container may not be touched through this proxy (not its own; a bind that now leads elsewhere). */
  private async containerProblem(
    route: Extract<EngineRoute, { kind: "container" }>,
  ): Promise<string | undefined> {
    const known = this.owned.has(route.id);
    if (known && route.action !== "start") return undefined;
    const info = await this.upstreamJson(`/containers/${encodeURIComponent(route.id)}/json`);
    if (!info) return known ? undefined : "no such container";
    const labels = (info.Config as { Labels?: Record<string, string> } | undefined)?.Labels ?? {};
    if (labels[PROXY_LABEL] !== this.id) return "the container was not created through this proxy";
    if (typeof info.Id === "string") this.owned.add(info.Id);
    if (route.action === "start") {
      const binds = (info.HostConfig as { Binds?: string[] } | undefined)?.Binds ?? [];
      return this.realBindProblem(binds.map((b) => b.split(":")[0]!));
    }
    return undefined;
  }

  /** A bind source that resolves (symlinks followed, as the engine will) outside the allowed folders. */
  private async realBindProblem(sources: string[]): Promise<string | undefined> {
    const real = (path: string) => realpath(path).catch(() => path);
    const roots = await Promise.all(allowedRoots(this.options).map(real));
    const bindRoots = await Promise.all(this.options.bindRoots.map(real));
    for (const source of sources) {
      const resolved = await realpath(source).catch(() => undefined);
      if (resolved === undefined) return `bind source ${source} does not exist`;
      if (!roots.some((root) => isWithin(resolved, root)))
        return `bind source ${source} leads to ${resolved}, outside ${roots.join(", ")}`;
      const problem = bindRootProblem(resolved, bindRoots);
      if (problem) return `bind source ${source} leads to ${resolved}: ${problem}`;
    }
    return undefined;
  }

  private async imageUser(image: string): Promise<string | undefined> {
    const info = await this.upstreamJson(`/images/${image}/json`);
    return (info?.Config as { User?: string } | undefined)?.User ?? (info ? "" : undefined);
  }

  private ownListPath(url: string): string {
    const [path, query = ""] = url.split("?", 2);
    const params = new URLSearchParams(query);
    let filters: Record<string, unknown> = {};
    try {
      filters = JSON.parse(params.get("filters") ?? "{}");
    } catch {
      filters = {};
    }
    const label = filters.label;
    const labels = Array.isArray(label)
      ? label
      : label && typeof label === "object"
        ? Object.keys(label)
        : [];
    filters.label = [...labels, `${PROXY_LABEL}=${this.id}`];
    params.set("filters", JSON.stringify(filters));
    return `${path}?${params.toString()}`;
  }

  /** Sends the request on to the engine and streams the answer back; with `keep`, also returns it. */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    change: { path?: string; body?: string; keep?: boolean } = {},
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: IncomingHttpHeaders = { ...req.headers };
      if (change.body !== undefined) {
        headers["content-length"] = String(Buffer.byteLength(change.body));
        delete headers["transfer-encoding"];
      }
      const upstream = request({
        socketPath: this.options.upstream,
        method: req.method,
        path: change.path ?? req.url,
        headers,
      });
      upstream.once("error", reject);
      upstream.once("response", (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const chunks: Buffer[] = [];
        if (change.keep) answer.on("data", (c: Buffer) => chunks.push(c));
        answer.pipe(res);
        answer.once("end", () =>
          resolve({ status: answer.statusCode ?? 502, text: Buffer.concat(chunks).toString("utf8") }),
        );
        answer.once("error", reject);
      });
      // A client that goes away (a step stopped mid-wait) ends the engine call too.
      res.once("close", () => upstream.destroy());
      if (change.body !== undefined) upstream.end(change.body);
      else req.pipe(upstream);
    });
  }

  /** `POST /containers/{id}/attach` with `Upgrade: tcp`: checked, then spliced to the engine's hijacked stream. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const route = routeOf(req.method ?? "", req.url ?? "");
    const problem =
      "refused" in route
        ? route.refused
        : route.kind !== "container" || route.action !== "attach"
          ? `${req.method} ${req.url}: only attach may upgrade`
          : await this.containerProblem(route).then((p) =>
              p ? `${req.method} ${req.url}: ${p}` : undefined,
            );
    if (problem) {
      this.logger.warn({ method: req.method, url: req.url, reason: problem }, "engine proxy refused a call");
      const body = JSON.stringify({ message: `ferry engine proxy refused: ${problem}` });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const upstream = request({
      socketPath: this.options.upstream,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstream.once("upgrade", (answer, engine, engineHead) => {
      socket.write(
        `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${rawHeaders(answer.rawHeaders)}\r\n`,
      );
      if (engineHead.length > 0) socket.write(engineHead);
      if (head.length > 0) engine.write(head);
      engine.pipe(socket);
      socket.pipe(engine);
      const close = () => {
        engine.destroy();
        socket.destroy();
      };
      engine.once("error", close);
      socket.once("error", close);
      engine.once("close", () => socket.end());
    });
    upstream.once("response", (answer) => {
      socket.write(
        `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${rawHeaders(answer.rawHeaders)}\r\n`,
      );
      answer.pipe(socket);
    });
    upstream.once("error", () => socket.destroy());
    upstream.end();
  }

  private async upstreamJson(path: string): Promise<Record<string, unknown> | undefined> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.options.upstream, method: "GET", path }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) return resolve(undefined);
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.once("error", reject);
      req.end();
    });
  }

  private refuse(res: ServerResponse, reason: string): void {
    this.logger.warn({ reason }, "engine proxy refused a call");
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `ferry engine proxy refused: ${reason}` }));
  }

  private fail(res: ServerResponse, error: unknown): void {
    this.logger.error({ err: error }, "engine proxy: the engine call failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ message: `ferry engine proxy: the engine call failed: ${(error as Error).message}` }),
    );
  }
}

function rawHeaders(raw: string[]): string {
  let out = "";
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/** The body as text, or undefined once it passes MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}
