import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { AuditLog } from "./audit-log.ts";
import type { Session, UiAuth } from "./auth.ts";
import type { UiAssets } from "./build.ts";
import { OIDC_CALLBACK_PATH, type UiOidc } from "./oidc.ts";
import type { RunSummary } from "./run-view.ts";
import type { RunSource } from "./sources/run-source.ts";
import { checkStart, MAX_START_INPUT_BYTES, startableSpecs } from "./start-run.ts";

export interface UiAppOptions {
  auth: UiAuth;
  sources: RunSource[];
  assets: UiAssets;
  audit: AuditLog;
  /** Shown in the page header: the project folder, the cloud target. */
  title: string;
  /** Where the specs the page can start live (the project root). */
  projectDir: string;
  /** OIDC login beside the token (`--oidc-issuer`). */
  oidc?: UiOidc;
}

type Env = { Variables: { session: Session } };

/**
 * The `ferry ui` app: the page and its bundle (public: they hold no data),
 * the login exchange, and the JSON/SSE API under `/api`, all behind
 * {@link UiAuth.guard}.
 */
export function createUiApp(options: UiAppOptions): Hono<Env> {
  const { auth, sources, assets, audit } = options;
  const app = new Hono<Env>();
  const sourceOf = (id: string) => sources.find((s) => s.owns(id));
  const securityHeaders = {
    "content-security-policy":
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  const page = (c: Context<Env>) => c.html(assets.html, 200, securityHeaders);

  app.get("/", (c) => page(c));
  app.get("/runs/*", (c) => page(c));
  app.get("/assets/app.js", (c) =>
    c.body(assets.js, 200, { "content-type": "text/javascript; charset=utf-8", ...securityHeaders }),
  );
  app.get("/assets/app.css", (c) =>
    c.body(assets.css, 200, { "content-type": "text/css; charset=utf-8", ...securityHeaders }),
  );
  const { oidc } = options;
  const loginForm = (wrong: string | undefined) => LOGIN_FORM(wrong, oidc?.issuer);
  app.get("/login", (c) => {
    if (!auth.tokenMatches(c.req.query("token")))
      return c.html(
        loginForm(c.req.query("token") !== undefined ? "That token is not right." : undefined),
        401,
        securityHeaders,
      );
    auth.startSession(c);
    // The token leaves the address bar (and the history) at once.
    return c.redirect("/", 303);
  });
  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    if (!auth.tokenMatches(typeof form.token === "string" ? form.token : undefined))
      return c.html(loginForm("That token is not right."), 401, securityHeaders);
    auth.startSession(c);
    return c.redirect("/", 303);
  });
  if (oidc) {
    app.get("/auth/login", async (c) => c.redirect((await oidc.start(c)).href, 302));
    app.get(OIDC_CALLBACK_PATH, async (c) => {
      try {
        auth.startSession(c, await oidc.finish(c));
      } catch (error) {
        return c.html(loginForm(`Login refused: ${(error as Error).message}`), 401, securityHeaders);
      }
      return c.redirect("/", 303);
    });
  }

  // A run folder that cannot be read (garbled run.json, say) answers an error; the server goes on.
  app.onError((error, c) => c.json({ error: error.message }, 500));

  const api = new Hono<Env>();
  api.use("*", auth.guard());
  api.get("/session", (c) =>
    c.json({ csrf: c.get("session").csrf, title: options.title, who: whoOf(c.get("session")) }),
  );
  api.get("/workflows", async (c) =>
    c.json({
      specs: await startableSpecs(options.projectDir),
      targets: sources.filter((s) => s.start).map((s) => s.kind),
    }),
  );
  api.post("/start", async (c) => {
    const who = whoOf(c.get("session"));
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_START_INPUT_BYTES * 2)
      return c.json({ error: `request is ${length} bytes: too large`, problems: [] }, 413);
    const body = (await c.req.json().catch(() => undefined)) as
      | { specFile?: unknown; target?: unknown; input?: unknown }
      | undefined;
    const source = sources.find((s) => s.kind === body?.target && s.start);
    // As the success entry names it: where, and which spec.
    const target = `${typeof body?.target === "string" ? body.target : "?"}:${typeof body?.specFile === "string" ? body.specFile : "?"}`;
    const refuse = async (status: 400 | 404 | 409 | 422, error: string, problems: unknown[] = []) => {
      await audit.write({
        at: new Date().toISOString(),
        who,
        action: "start",
        target,
        result: "error",
        detail: error,
      });
      return c.json({ error, problems }, status);
    };
    if (!body) return refuse(400, "send a JSON body: {specFile, target, input}");
    if (!source) return refuse(404, `no start target ${JSON.stringify(body.target)}`);
    const checked = await checkStart(options.projectDir, body.specFile, body.input);
    if (!checked.ok) return refuse(422, checked.error, checked.problems);
    try {
      const id = await source.start!.call(source, checked, checked.input);
      await audit.write({
        at: new Date().toISOString(),
        who,
        action: "start",
        target: `${source.kind}:${checked.specFile}`,
        result: "ok",
        detail: id,
      });
      return c.json({ ok: true, result: id });
    } catch (error) {
      return refuse(409, (error as Error).message);
    }
  });
  api.get("/runs", async (c) => {
    const filter = {
      ...(c.req.query("workflow") ? { workflow: c.req.query("workflow")! } : {}),
      ...(c.req.query("status") ? { status: c.req.query("status")! } : {}),
      ...(c.req.query("since") ? { since: c.req.query("since")! } : {}),
    };
    const lists = await Promise.allSettled(sources.map((s) => s.list(filter)));
    const runs: RunSummary[] = [];
    const problems: string[] = [];
    lists.forEach((l, i) => {
      if (l.status === "fulfilled") runs.push(...l.value);
      else problems.push(`${sources[i]!.kind}: ${(l.reason as Error).message}`);
    });
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return c.json({ runs, problems });
  });
  api.get("/runs/:id", async (c) => {
    const run = await sourceOf(c.req.param("id"))?.get(c.req.param("id"));
    return run ? c.json(run) : c.json({ error: `no run ${c.req.param("id")}` }, 404);
  });
  api.get("/runs/:id/graph", async (c) => {
    const graph = await sourceOf(c.req.param("id"))?.graph(c.req.param("id"));
    return graph ? c.json(graph) : c.json({ error: `no run ${c.req.param("id")}` }, 404);
  });
  api.get("/runs/:id/prediction", async (c) => {
    const id = c.req.param("id");
    const source = sourceOf(id);
    try {
      const prediction = await source?.prediction?.(id);
      if (prediction) return c.json(prediction);
    } catch (error) {
      return c.json({ error: (error as Error).message }, 422);
    }
    return c.json(
      {
        error:
          "no prediction: start ferry ui with --topology FILE to see the simulator's timeline of local runs",
      },
      404,
    );
  });
  api.get("/runs/:id/steps/:step/logs", async (c) => {
    const logs = await sourceOf(c.req.param("id"))?.logs(c.req.param("id"), c.req.param("step"));
    return logs
      ? c.json({ logs })
      : c.json({ error: `no step ${c.req.param("step")} in run ${c.req.param("id")}` }, 404);
  });
  api.get("/runs/:id/stream", (c) => {
    const id = c.req.param("id");
    const source = sourceOf(id);
    if (!source) return c.json({ error: `no run ${id}` }, 404);
    return streamSSE(c, async (stream) => {
      const done = new AbortController();
      stream.onAbort(() => done.abort());
      // Writes in order, and all of them out before the stream closes.
      let writes = Promise.resolve();
      const send = (event: string, data: unknown) => {
        writes = writes.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
      };
      try {
        await source.follow(
          id,
          { onSteps: (steps) => send("steps", steps), onEnd: (run) => send("run", run) },
          done.signal,
        );
        await writes;
      } catch (error) {
        // The page shows it and falls back to reloading the run.
        await stream.writeSSE({
          event: "failure",
          data: JSON.stringify({ error: (error as Error).message }),
        });
      }
    });
  });
  for (const action of ["cancel", "resume", "redrive"] as const) {
    api.post(`/runs/:id/${action}`, async (c) => {
      const id = c.req.param("id");
      const source = sourceOf(id);
      const run = source?.[action];
      const who = whoOf(c.get("session"));
      if (!source || !run) return c.json({ error: `run ${id} has no ${action} action` }, 404);
      try {
        const result = await run.call(source, id);
        await audit.write({
          at: new Date().toISOString(),
          who,
          action,
          target: id,
          result: "ok",
          detail: result,
        });
        return c.json({ ok: true, result });
      } catch (error) {
        const detail = (error as Error).message;
        await audit.write({ at: new Date().toISOString(), who, action, target: id, result: "error", detail });
        return c.json({ error: detail }, 409);
      }
    });
  }
  api.all("*", (c) => c.json({ error: `no API route ${c.req.method} ${c.req.path}` }, 404));
  app.route("/api", api);
  return app;
}

/** The audit log's "who": the signed-in person when known, else a prefix of the session id (enough to tell sessions apart, useless to steal). */
function whoOf(session: Session): string {
  return session.who ?? `session:${session.id.slice(0, 8)}`;
}

function LOGIN_FORM(problem: string | undefined, issuer: string | undefined): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ferry — log in</title>
<link rel="stylesheet" href="/assets/app.css"></head><body><main class="login">
<h1>Ferry</h1>${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ""}
${issuer ? `<p><a href="/auth/login">Log in with ${escapeHtml(issuer)}</a></p>` : ""}
<form method="post" action="/login"><label for="token">Token (ferry ui printed it)</label>
<input id="token" name="token" type="password" autocomplete="off" required><button type="submit">Log in</button></form>
</main></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
