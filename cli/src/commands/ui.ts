import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findProjectRoot } from "@ferry/dsl-compiler";
import { serve } from "@hono/node-server";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE } from "../support/aws-flags.ts";
import { AuditLog } from "../ui/audit-log.ts";
import { isLoopbackHost, UiAuth } from "../ui/auth.ts";
import { buildUiAssets } from "../ui/build.ts";
import { UiOidc } from "../ui/oidc.ts";
import { createUiApp } from "../ui/server.ts";
import { LocalRunSource } from "../ui/sources/local-runs.ts";
import type { RunSource } from "../ui/sources/run-source.ts";

const USAGE = `Usage: ferry ui [--port N] [--host 127.0.0.1] [--target localstack|aws] [--topology FILE]
                [--tls-cert FILE --tls-key FILE | --insecure]
                [--oidc-issuer URL --oidc-client-id ID [--oidc-client-secret S]]

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
  --oidc-issuer URL also offer login through this OpenID Connect provider
                    (authorization code with PKCE); register the redirect URI
                    ferry ui prints, <base>/auth/callback, at the provider
  --oidc-client-id ID      the client registered at the provider
  --oidc-client-secret S   its secret, for a confidential client (better: set
                    FERRY_UI_OIDC_CLIENT_SECRET; a flag shows in ps)
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
        "oidc-issuer": { type: "string" },
        "oidc-client-id": { type: "string" },
        "oidc-client-secret": { type: "string" },
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
    if (!isLoopbackHost(host) && !tls && !values.insecure)
      throw new UsageError(
        `--host ${host} is reachable from other machines: serve HTTPS with --tls-cert FILE --tls-key FILE, or accept plain HTTP with --insecure`,
      );
    if (values.target !== undefined && values.target !== "localstack" && values.target !== "aws")
      throw new UsageError(`--target is localstack or aws, got "${values.target}"`);

    if ((values["oidc-issuer"] === undefined) !== (values["oidc-client-id"] === undefined))
      throw new UsageError("--oidc-issuer and --oidc-client-id go together");
    if (values["oidc-client-secret"] !== undefined && values["oidc-issuer"] === undefined)
      throw new UsageError("--oidc-client-secret needs --oidc-issuer and --oidc-client-id");

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
    let oidc: UiOidc | undefined;
    if (values["oidc-issuer"]) {
      const clientSecret = values["oidc-client-secret"] ?? io.env.FERRY_UI_OIDC_CLIENT_SECRET;
      try {
        oidc = await UiOidc.discover({
          issuer: values["oidc-issuer"],
          clientId: values["oidc-client-id"]!,
          ...(clientSecret ? { clientSecret } : {}),
          secure: tls,
        });
      } catch (error) {
        io.stderr(`ferry ui: --oidc-issuer ${values["oidc-issuer"]}: ${(error as Error).message}\n`);
        return 1;
      }
    }
    const app = createUiApp({
      auth,
      sources,
      assets: await buildUiAssets(),
      audit: new AuditLog(join(projectDir, ".ferry", "ui-audit.ndjson")),
      projectDir,
      ...(oidc ? { oidc } : {}),
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
    oidc?.setBase(base);
    const oidcLines = oidc
      ? `  or log in with ${oidc.issuer}: ${base}/auth/login (redirect URI ${base}/auth/callback)\n`
      : "";
    io.stdout(
      `ferry ui: serving ${projectDir} on ${base}\n  log in: ${base}/login?token=${io.env.FERRY_UI_TOKEN ? "<FERRY_UI_TOKEN>" : auth.token}\n${oidcLines}  Ctrl-C stops\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    listening.close();
    return 0;
  },
};
