import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../main.ts";
import { recordingIo } from "../testing-io.ts";
import { AuditLog } from "./audit-log.ts";
import { CSRF_HEADER, SESSION_COOKIE, UiAuth } from "./auth.ts";
import { createUiApp } from "./server.ts";
import { LocalRunSource } from "./sources/local-runs.ts";

const TOKEN = "unit-test-token-0123456789abcdef";

const DATED = `version: "1.1"
name: dated
sites:
  lab: { type: edge }
input:
  type: object
  required: [date]
  properties:
    date: { type: string, format: date }
steps:
  - { name: a, site: lab, process: { command: ["true"] } }
`;

function app(project = mkdtempSync(join(tmpdir(), "ferry-ui-"))) {
  return createUiApp({
    auth: new UiAuth({ token: TOKEN, secure: false }),
    sources: [new LocalRunSource(project)],
    assets: { html: "<!doctype html><title>t</title>", js: "", css: "" },
    audit: new AuditLog(join(project, ".ferry", "ui-audit.ndjson")),
    title: "test",
    projectDir: project,
  });
}

/** A concrete path for a route pattern: parameters and wildcards filled in. */
function concrete(path: string): string {
  return path.replace(/:id/g, "20261203-000000-abcdef").replace(/:step/g, "s").replace(/\*/g, "anything");
}

async function login(ui: ReturnType<typeof app>): Promise<{ cookie: string; csrf: string }> {
  const response = await ui.request(`/login?token=${TOKEN}`);
  const cookie = response.headers.get("set-cookie")!.split(";")[0]!;
  const session = (await (await ui.request("/api/session", { headers: { cookie } })).json()) as {
    csrf: string;
  };
  return { cookie, csrf: session.csrf };
}

describe("ferry ui's API", () => {
  it("Given no session, When any API route is called with its method, Then it answers 401", async () => {
    const ui = app();
    const routes = ui.routes.filter((r) => r.path.startsWith("/api") && r.method !== "ALL");
    // Every route the router holds, not a hand-kept list: a new route is covered the day it is added.
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const response = await ui.request(concrete(route.path), { method: route.method });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
    }
    // A bad cookie is no session either.
    const forged = await ui.request("/api/runs", { headers: { cookie: `${SESSION_COOKIE}=forged` } });
    expect(forged.status).toBe(401);
  });

  it("Given a session, When a state-changing route is called without the session's CSRF header, Then it answers 403", async () => {
    const ui = app();
    const { cookie, csrf } = await login(ui);
    const actions = ui.routes.filter((r) => r.path.startsWith("/api") && !["GET", "ALL"].includes(r.method));
    expect(actions.map((r) => r.path)).toEqual(
      expect.arrayContaining(["/api/runs/:id/cancel", "/api/runs/:id/resume"]),
    );
    for (const route of actions) {
      const bare = await ui.request(concrete(route.path), { method: route.method, headers: { cookie } });
      expect(bare.status, `${route.method} ${route.path}`).toBe(403);
      const wrong = await ui.request(concrete(route.path), {
        method: route.method,
        headers: { cookie, [CSRF_HEADER]: `${csrf.slice(1)}x` },
      });
      expect(wrong.status).toBe(403);
      const right = await ui.request(concrete(route.path), {
        method: route.method,
        headers: { cookie, [CSRF_HEADER]: csrf },
      });
      expect(right.status).not.toBe(403);
    }
  });

  it("Given the token, When it is exchanged at /login, Then the cookie is HttpOnly and SameSite=Strict and the token leaves the URL", async () => {
    const ui = app();
    const wrong = await ui.request("/login?token=nope");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const response = await ui.request(`/login?token=${TOKEN}`);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const { cookie: session } = await login(ui);
    expect((await ui.request("/api/runs", { headers: { cookie: session } })).status).toBe(200);
  });

  it("Given a too short FERRY_UI_TOKEN, Then the auth refuses it", () => {
    expect(() => new UiAuth({ token: "short", secure: false })).toThrow(/at least 16 characters/);
  });
});

describe("ferry ui's listening rules", () => {
  it("Given a non-loopback --host without TLS or --insecure, Then it refuses to start (exit 2)", async () => {
    const io = recordingIo();
    expect(await main(["ui", "--host", "0.0.0.0", "--port", "0"], io)).toBe(2);
    expect(io.err).toContain("--tls-cert FILE --tls-key FILE, or accept plain HTTP with --insecure");
  });

  it("Given only one of --tls-cert and --tls-key, Then it is a usage error", async () => {
    const io = recordingIo();
    expect(await main(["ui", "--tls-cert", "c.pem"], io)).toBe(2);
    expect(io.err).toContain("--tls-cert and --tls-key go together");
  });
});

describe("ferry ui's API on bad run folders", () => {
  it("Given a garbled run.json, When its run is asked for, Then the API answers 500 with the reason and keeps serving", async () => {
    const project = mkdtempSync(join(tmpdir(), "ferry-ui-"));
    const runDir = join(project, ".ferry", "runs", "20261203-000000-abcdef");
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, "run.json"), "{ not json");
    const ui = createUiApp({
      auth: new UiAuth({ token: TOKEN, secure: false }),
      sources: [new LocalRunSource(project)],
      assets: { html: "", js: "", css: "" },
      audit: new AuditLog(join(project, ".ferry", "ui-audit.ndjson")),
      title: "test",
      projectDir: project,
    });
    const { cookie } = await login(ui);
    const response = await ui.request("/api/runs/20261203-000000-abcdef", { headers: { cookie } });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: string }).error).toMatch(/JSON/);
    const list = await ui.request("/api/runs", { headers: { cookie } });
    expect(((await list.json()) as { runs: unknown[] }).runs).toEqual([]);
  });
});

describe("ferry ui's start route", () => {
  async function given() {
    const project = mkdtempSync(join(tmpdir(), "ferry-ui-"));
    writeFileSync(join(project, "dated.yaml"), DATED);
    writeFileSync(join(project, "notes.yaml"), "just: a config file\n");
    const ui = app(project);
    const { cookie, csrf } = await login(ui);
    const start = (body: unknown) =>
      ui.request("/api/start", {
        method: "POST",
        headers: { cookie, [CSRF_HEADER]: csrf, "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    const audit = () =>
      readFileSync(join(project, ".ferry", "ui-audit.ndjson"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { action: string; result: string; detail: string; who: string });
    return { project, ui, cookie, start, audit };
  }

  it("Given a project, When the page asks what it can start, Then it lists the specs that compile, with their input schema", async () => {
    const { ui, cookie } = await given();
    const body = (await (await ui.request("/api/workflows", { headers: { cookie } })).json()) as {
      specs: Array<{ specFile: string; workflow: string; inputSchema?: { required: string[] } }>;
      targets: string[];
    };
    expect(body.specs.map((s) => s.specFile)).toEqual(["dated.yaml"]);
    expect(body.specs[0]!.inputSchema!.required).toEqual(["date"]);
    expect(body.targets).toEqual(["local"]);
  });

  it("Given input that fails the spec's input: schema, When it is sent, Then 422 lists the schema errors, nothing runs, and the refusal is audited", async () => {
    const { project, start, audit } = await given();
    const response = await start({ specFile: "dated.yaml", target: "local", input: '{"date": "yesterday"}' });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { problems: Array<{ path: string; message: string }> };
    expect(body.problems).toEqual([
      expect.objectContaining({ path: "input.date", message: 'must match format "date"' }),
    ]);
    const missing = (await (
      await start({ specFile: "dated.yaml", target: "local", input: "{}" })
    ).json()) as {
      problems: Array<{ path: string }>;
    };
    expect(missing.problems.map((p) => p.path)).toEqual(["input.date"]);
    expect(existsSync(join(project, ".ferry", "runs"))).toBe(false);
    expect(audit().map((a) => [a.action, a.result])).toEqual([
      ["start", "error"],
      ["start", "error"],
    ]);
    expect(audit()[0]!.who).toMatch(/^session:/);
  });

  it("Given hostile start requests, Then each is refused with a reason and the server keeps serving", async () => {
    const { ui, cookie, start, project } = await given();
    const cases: Array<[unknown, number, RegExp]> = [
      ["{ not json", 400, /JSON body/],
      [{ specFile: "../../etc/passwd", target: "local", input: "{}" }, 422, /outside the project/],
      [{ specFile: join(project, "..", "x.yaml"), target: "local", input: "{}" }, 422, /outside the project/],
      [{ specFile: "notes.yaml", target: "local", input: "{}" }, 422, /does not compile/],
      [{ specFile: "missing.yaml", target: "local", input: "{}" }, 422, /missing\.yaml/],
      [{ specFile: "dated.yaml", target: "local", input: "{not json" }, 422, /input is not JSON/],
      [{ specFile: "dated.yaml", target: "local", input: { date: "2026-01-01" } }, 422, /JSON text/],
      [{ specFile: "dated.yaml", target: "cloud", input: "{}" }, 404, /no start target/],
      [{ specFile: 7, target: "local", input: "{}" }, 422, /name a spec file/],
      [
        { specFile: "dated.yaml", target: "local", input: `"${"x".repeat(300 * 1024)}"` },
        422,
        /over the page's/,
      ],
    ];
    for (const [body, status, reason] of cases) {
      const response = await start(body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await response.json()) as { error: string }).error).toMatch(reason);
    }
    expect(existsSync(join(project, ".ferry", "runs"))).toBe(false);
    expect((await ui.request("/api/runs", { headers: { cookie } })).status).toBe(200);
  });
});
