import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { isIP } from "node:net";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import { serve } from "@hono/node-server";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE } from "../support/aws-flags.ts";
import { AuditLog } from "../ui/audit-log.ts";
import { UiAuth } from "../ui/auth.ts";
import { buildUiAssets } from "../ui/build.ts";
import { createUiApp } from "../ui/server.ts";
import { LocalRunSource } from "../ui/sources/local-runs.ts";
import type { RunSource } from "../ui/sources/run-source.ts";

const USAGE = `Usage: ferry ui [--port N] [--host 127.0.0.1] [--target localstack|aws] [--topology FILE]
                [--tls-cert FILE --tls-key FILE | --insecure]

Serves a web dashboard of this project's local runs (.ferry/runs) and, with
--target, of the deployed workflows' executions: run list, the DAG coloured
by step state and updated live, a timeline, each step's attempts, input,
output, error and log, and actions (cancel a run, resume a failed one).

Prints a login URL holding a random token (or FERRY_UI_TOKEN), which the
browser exchanges for a session cookie. Every action is written to
.ferry/ui-audit.ndjson.

  --port N          (default 4180; 0 picks a free port)
  --host HOST       address to listen on (default 127.0.0.1); any other than
                    loopback needs TLS (--tls-cert, --tls-key) or --insecure
  --tls-cert FILE   PEM certificate; serves HTTPS
  --tls-key FILE    PEM private key
  --insecure        allow plain HTTP on a non-loopback address (the token and
                    cookie then cross the network in clear)
  --target T        also show executions of workflows deployed to T
                    (localstack: AWS_ENDPOINT_URL or http://127.0.0.1:4566)
  --topology FILE   a simulator topology: each local run's page also shows the
                    timeline ferry simulate predicts for its spec on it
${AWS_FLAGS_USAGE}`;

/** `ferry ui`: the dashboard server. */
export const uiCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...AWS_FLAGS,
        port: { type: "string" },
        host: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        insecure: { type: "boolean" },
        target: { type: "string" },
        topology: { type: "string" },
      },
    });
    if (positionals.length > 0)
      throw new UsageError(`ferry ui takes no arguments, got "${positionals.join(" ")}"`);
    const port = values.port === undefined ? 4180 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be 0..65535, got "${values.port}"`);
    const host = values.host ?? "127.0.0.1";
    const tls = values["tls-cert"] !== undefined || values["tls-key"] !== undefined;
    if (tls && (values["tls-cert"] === undefined || values["tls-key"] === undefined))
      throw new UsageError("--tls-cert and --tls-key go together");
    if (!isLoopback(host) && !tls && !values.insecure)
      throw new UsageError(
        `--host ${host} is reachable from other machines: serve HTTPS with --tls-cert FILE --tls-key FILE, or accept plain HTTP with --insecure`,
      );
    if (values.target !== undefined && values.target !== "localstack" && values.target !== "aws")
      throw new UsageError(`--target is localstack or aws, got "${values.target}"`);

    const projectDir = findProjectRoot(io.cwd);
    const sources: RunSource[] = [
      new LocalRunSource(
        projectDir,
        values.topology ? { topologyFile: resolve(io.cwd, values.topology) } : {},
      ),
    ];
    if (values.target) {
      // Loaded only for --target: the AWS SDK and infra stay out of a local-only dashboard.
      const { CloudExecutionSource } = await import("../ui/sources/cloud-executions.ts");
      const { awsContextFor } = await import("../support/cloud-commands.ts");
      const flags =
        values.target === "localstack" && !values["endpoint-url"] && !io.env.AWS_ENDPOINT_URL
          ? { ...values, "endpoint-url": "http://127.0.0.1:4566" }
          : values;
      sources.push(new CloudExecutionSource(awsContextFor(flags, io.env)));
    }
    const auth = new UiAuth({
      ...(io.env.FERRY_UI_TOKEN ? { token: io.env.FERRY_UI_TOKEN } : {}),
      secure: tls,
    });
    const app = createUiApp({
      auth,
      sources,
      assets: await buildUiAssets(),
      audit: new AuditLog(join(projectDir, ".ferry", "ui-audit.ndjson")),
      projectDir,
      title: `${basename(projectDir)}${values.target ? ` · ${values.target}` : ""}`,
    });
    const serverOptions = tls
      ? {
          createServer: createHttpsServer,
          serverOptions: {
            cert: await readFile(values["tls-cert"]!),
            key: await readFile(values["tls-key"]!),
          },
        }
      : {};
    const listening = await new Promise<{ port: number; close(): void }>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port, hostname: host, ...serverOptions }, (info) =>
        resolve({ port: info.port, close: () => server.close() }),
      );
      server.once("error", reject);
    });
    const shownHost = host.includes(":") ? `[${host}]` : host;
    const base = `${tls ? "https" : "http"}://${shownHost}:${listening.port}`;
    io.stdout(
      `ferry ui: serving ${projectDir} on ${base}\n  log in: ${base}/login?token=${io.env.FERRY_UI_TOKEN ? "<FERRY_UI_TOKEN>" : auth.token}\n  Ctrl-C stops\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    listening.close();
    return 0;
  },
};

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
