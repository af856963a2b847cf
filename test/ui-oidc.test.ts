/**
 * `ferry ui --oidc-issuer`: a real OpenID Connect provider (oidc-provider, a
 * certified implementation) on 127.0.0.1, and a login through it in headless
 * Chromium: authorization code with PKCE, state and nonce. The audit log
 * names the person. A forged state, a response from another issuer and a
 * discovery document naming another issuer are refused.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import Provider from "oidc-provider";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/browser.ts";
import { eventually, ferry, startFerry, tempProject } from "./support/ferry-cli.ts";

const TOKEN = "ui-oidc-test-token-0123456789abc";
const CLIENT_SECRET = "ui-oidc-test-client-secret-0123456789";

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let project: string;
let issuer: string;
let provider: Server;
let ui: ReturnType<typeof startFerry>;
let base: string;
let browser: Browser;

beforeAll(async () => {
  project = tempProject();
  const [opPort, uiPort] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${opPort}`;
  base = `http://127.0.0.1:${uiPort}`;
  const op = new Provider(issuer, {
    clients: [
      {
        client_id: "ferry-ui",
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${base}/auth/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.test` }),
    }),
    claims: { openid: ["sub"], email: ["email"] },
    cookies: { keys: ["ui-oidc-test-cookie-key"] },
  });
  provider = createHttpServer(op.callback());
  await new Promise<void>((resolve) => provider.listen(opPort, "127.0.0.1", resolve));
  ui = startFerry(["ui", "--port", String(uiPort), "--oidc-issuer", issuer, "--oidc-client-id", "ferry-ui"], {
    cwd: project,
    env: { FERRY_UI_TOKEN: TOKEN, FERRY_UI_OIDC_CLIENT_SECRET: CLIENT_SECRET },
  });
  let printed = "";
  ui.stdout!.on("data", (chunk: Buffer) => {
    printed += chunk.toString();
  });
  await eventually(() => (printed.includes("/auth/login") ? true : undefined), "ferry ui to listen", 120_000);
  expect(printed).toContain(`redirect URI ${base}/auth/callback`);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  ui?.kill("SIGTERM");
  await ui?.output;
  await new Promise((resolve) => provider?.close(resolve));
});

describe("ferry ui with an OIDC provider", () => {
  it("logs in through the provider, and the audit log names the subject and email", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByRole("link", { name: `Log in with ${issuer}` }).click();
    await page.locator('input[name="login"]').fill("ada");
    await page.locator('input[name="password"]').fill("any");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Runs" }).waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).origin).toBe(base);
    const cookies = await context.cookies(base);
    expect(cookies.find((c) => c.name === "ferry_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    // The one-login state cookie is gone once used.
    expect(cookies.find((c) => c.name === "ferry_oidc")).toBeUndefined();

    // An action as that person: a start the schema check refuses is audited like any other.
    const session = (await page.evaluate(async () => (await fetch("/api/session")).json())) as {
      who: string;
      csrf: string;
    };
    expect(session.who).toBe("oidc:ada <ada@example.test>");
    const status = await page.evaluate(
      async (csrf) =>
        (
          await fetch("/api/start", {
            method: "POST",
            headers: { "x-ferry-csrf": csrf, "content-type": "application/json" },
            body: JSON.stringify({ specFile: "missing.yaml", target: "local", input: "{}" }),
          })
        ).status,
      session.csrf as string,
    );
    expect(status).toBe(422);
    const audit = readFileSync(join(project, ".ferry", "ui-audit.ndjson"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(audit.at(-1)!)).toMatchObject({
      who: "oidc:ada <ada@example.test>",
      action: "start",
      result: "error",
    });
    await context.close();
  });

  it("refuses a callback with a forged state, one from another issuer, and one with no login under way", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Starts a login (the state cookie is set), reading where it sends the browser.
    const started = await context.request.get(`${base}/auth/login`, { maxRedirects: 0 });
    expect(started.status()).toBe(302);
    const authorize = new URL(started.headers().location!);
    expect(authorize.origin).toBe(issuer);
    // The one-login cookie survives the provider's cross-site redirect back (Lax), and only the callback sees it.
    expect(
      (await context.cookies(`${base}/auth/callback`)).find((c) => c.name === "ferry_oidc"),
    ).toMatchObject({
      httpOnly: true,
      sameSite: "Lax",
      path: "/auth/callback",
    });
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    const state = authorize.searchParams.get("state")!;
    expect(state).toBeTruthy();
    const forged = await page.goto(
      `${base}/auth/callback?code=abc&state=forged-${state}&iss=${encodeURIComponent(issuer)}`,
    );
    expect(forged!.status()).toBe(401);
    expect(await forged!.text()).toMatch(/Login refused: .*state/);

    await context.request.get(`${base}/auth/login`, { maxRedirects: 0 }).then(async (r) => {
      const again = new URL(r.headers().location!).searchParams.get("state")!;
      const otherIssuer = await page.goto(
        `${base}/auth/callback?code=abc&state=${again}&iss=${encodeURIComponent("http://127.0.0.1:1/evil")}`,
      );
      expect(otherIssuer!.status()).toBe(401);
      expect(await otherIssuer!.text()).toMatch(/Login refused: .*iss/);
    });

    const stranger = await browser.newContext();
    const response = await stranger.request.get(`${base}/auth/callback?code=abc&state=${state}`);
    expect(response.status()).toBe(401);
    expect(await response.text()).toContain("no login under way");
    // None of it made a session.
    expect((await context.request.get(`${base}/api/runs`)).status()).toBe(401);
    await stranger.close();
    await context.close();
  });

  it("refuses to start when the provider's discovery document names another issuer", async () => {
    const port = new URL(issuer).port;
    const result = await ferry(
      ["ui", "--port", "0", "--oidc-issuer", `http://localhost:${port}`, "--oidc-client-id", "ferry-ui"],
      { cwd: project, env: { FERRY_UI_TOKEN: TOKEN } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--oidc-issuer http:\/\/localhost:\d+: .*issuer/);
  });
});
