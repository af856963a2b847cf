import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as oidc from "openid-client";
import { isLoopbackHost } from "./auth.ts";

/** Holds the pending login's id between the redirect to the provider and its callback. */
export const OIDC_STATE_COOKIE = "ferry_oidc";
export const OIDC_CALLBACK_PATH = "/auth/callback";
/** A login left half-way is dropped after this long. */
const PENDING_MS = 10 * 60_000;
/** Pending logins kept at most: a script hitting /auth/login cannot grow the map without bound. */
const MAX_PENDING = 1000;

export interface UiOidcOptions {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE alone). */
  clientSecret?: string;
  /** Mark the state cookie Secure (served over TLS). */
  secure: boolean;
}

interface Pending {
  state: string;
  nonce: string;
  codeVerifier: string;
  createdAt: number;
}

/**
 * OIDC login for `ferry ui` through openid-client: the authorization-code
 * flow with PKCE (S256), state and nonce. The checks (state, nonce, the
 * `iss` of the response and of the ID token, PKCE) are openid-client's; this
 * class only keeps each login's secrets server-side, keyed by a random id in
 * a short-lived cookie.
 */
export class UiOidc {
  private readonly pending = new Map<string, Pending>();
  private redirectUri = "";

  private constructor(
    private readonly config: oidc.Configuration,
    private readonly options: UiOidcOptions,
  ) {}

  /** Reads the provider's discovery document; refuses one whose `issuer` is not the URL given. */
  static async discover(options: UiOidcOptions): Promise<UiOidc> {
    const issuer = new URL(options.issuer);
    const loopback = isLoopbackHost(issuer.hostname);
    if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && loopback))
      throw new Error(
        `--oidc-issuer must be an https URL (plain http only on a loopback address), got ${options.issuer}`,
      );
    const config = await oidc.discovery(
      issuer,
      options.clientId,
      options.clientSecret ? { client_secret: options.clientSecret } : undefined,
      options.clientSecret ? oidc.ClientSecretPost(options.clientSecret) : oidc.None(),
      issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {},
    );
    return new UiOidc(config, options);
  }

  get issuer(): string {
    return this.config.serverMetadata().issuer;
  }

  /** The callback URL registered at the provider: the server's own base, known once it listens. */
  setBase(base: string): void {
    this.redirectUri = `${base}${OIDC_CALLBACK_PATH}`;
  }

  /** Starts a login: remembers its state, nonce and PKCE verifier and answers the provider's URL. */
  async start(c: Context): Promise<URL> {
    this.prune();
    const id = randomBytes(24).toString("base64url");
    const pending: Pending = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      createdAt: Date.now(),
    };
    this.pending.set(id, pending);
    // Lax, not Strict: the provider sends the browser back with a cross-site top-level navigation,
    // which would not carry a Strict cookie. It names a login, not a session, and dies at the callback.
    setCookie(c, OIDC_STATE_COOKIE, id, {
      httpOnly: true,
      sameSite: "Lax",
      secure: this.options.secure,
      path: OIDC_CALLBACK_PATH,
      maxAge: PENDING_MS / 1000,
    });
    return oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: "openid email profile",
      response_type: "code",
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: "S256",
    });
  }

  /**
   * Finishes a login at the callback: exchanges the code and checks state,
   * nonce, issuer and PKCE. Answers who logged in (`oidc:<sub> <email>`), or
   * throws why not.
   */
  async finish(c: Context): Promise<string> {
    const id = getCookie(c, OIDC_STATE_COOKIE);
    deleteCookie(c, OIDC_STATE_COOKIE, { path: OIDC_CALLBACK_PATH });
    const pending = id ? this.pending.get(id) : undefined;
    if (id) this.pending.delete(id);
    if (!pending || Date.now() - pending.createdAt > PENDING_MS)
      throw new Error("no login under way in this browser (or it took over 10 minutes): start again");
    // The URL the provider redirected to, on the redirect URI's origin (the Host header is the browser's word).
    const current = new URL(this.redirectUri);
    current.search = new URL(c.req.url).search;
    const tokens = await oidc
      .authorizationCodeGrant(this.config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      })
      .catch((error: unknown) => {
        // openid-client says "invalid response encountered"; which check failed is in its cause.
        const cause =
          error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
        throw new Error(`${(error as Error).message}${cause}`, { cause: error });
      });
    const claims = tokens.claims();
    if (!claims?.sub) throw new Error("the provider's ID token names no subject");
    // Providers that keep to the spec put scope claims (email) in the UserInfo answer, not the ID token.
    const email =
      typeof claims.email === "string"
        ? claims.email
        : (await oidc.fetchUserInfo(this.config, tokens.access_token, claims.sub)).email;
    return `oidc:${claims.sub}${typeof email === "string" ? ` <${email}>` : ""}`;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) if (now - p.createdAt > PENDING_MS) this.pending.delete(id);
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
  }
}
