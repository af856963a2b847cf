import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Health body; `healthy: false` answers 503. */
  health(): { healthy: boolean } & Record<string, unknown>;
}

/** Serves `GET /healthz` (200 while RUNNING, else 503) and `GET /metrics` (Prometheus text). */
export class OpsServer {
  private server: Server | undefined;

  constructor(private readonly options: OpsServerOptions) {}

  /** Starts listening; resolves with the bound port (useful with port 0 in tests). */
  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method === "GET" && req.url === "/healthz") {
        const health = this.options.health();
        res
          .writeHead(health.healthy ? 200 : 503, { "content-type": "application/json" })
          .end(JSON.stringify(health));
      } else if (req.method === "GET" && req.url === "/metrics") {
        this.options.registry.metrics().then(
          (text) => res.writeHead(200, { "content-type": this.options.registry.contentType }).end(text),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
