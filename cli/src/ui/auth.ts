import { randomBytes, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

export const SESSION_COOKIE = "ferry_session";
export const CSRF_HEADER = "x-ferry-csrf";

export interface Session {
  id: string;
  /** Sent back by the page on every action; bound to this session. */
  csrf: string;
  createdAt: number;
  /** Who signed in, for the audit log (an OIDC subject and email); unset for a token login. */
  who?: string;
}

export interface UiAuthOptions {
  /** The login token; random (32 bytes, base64url) when absent. */
  token?: string;
  /** Mark the cookie Secure (served over TLS). */
  secure: boolean;
  /** @default 12 hours */
  sessionMs?: number;
}

/**
 * Token login, as Jupyter does: the token (printed as a login URL, or
 * FERRY_UI_TOKEN) is exchanged once for an HttpOnly, SameSite=Strict
 * session cookie; every action also needs the session's CSRF token in a
 * header, which a cross-site form cannot set.
 */
export class UiAuth {
  readonly token: string;
  private readonly sessions = new Map<string, Session>();
  private readonly sessionMs: number;

  constructor(private readonly options: UiAuthOptions) {
    this.token = options.token ?? randomBytes(32).toString("base64url");
    if (this.token.length < 16)
      throw new RangeError(
        `FERRY_UI_TOKEN must be at least 16 characters, got ${this.token.length}; leave it unset for a random one`,
      );
    this.sessionMs = options.sessionMs ?? 12 * 3600_000;
  }

  tokenMatches(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Starts a session and sets its cookie; `who` names the person for the audit log (OIDC). */
  startSession(c: Context, who?: string): Session {
    const session: Session = {
      id: randomBytes(32).toString("base64url"),
      csrf: randomBytes(24).toString("base64url"),
      createdAt: Date.now(),
      ...(who ? { who } : {}),
    };
    this.sessions.set(session.id, session);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: "Strict",
      secure: this.options.secure,
      path: "/",
      maxAge: Math.floor(this.sessionMs / 1000),
    });
    return session;
  }

  sessionOf(c: Context): Session | undefined {
    const id = getCookie(c, SESSION_COOKIE);
    const session = id ? this.sessions.get(id) : undefined;
    if (session && Date.now() - session.createdAt > this.sessionMs) {
      this.sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  /** 401 without a session; 403 for a state-changing request without the session's CSRF header. */
  guard(): MiddlewareHandler<{ Variables: { session: Session } }> {
    return async (c, next) => {
      const session = this.sessionOf(c);
      if (!session) return c.json({ error: "not logged in: open the login URL ferry ui printed" }, 401);
      if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method)) {
        const sent = c.req.header(CSRF_HEADER);
        const ok =
          sent !== undefined &&
          sent.length === session.csrf.length &&
          timingSafeEqual(Buffer.from(sent), Buffer.from(session.csrf));
        if (!ok) return c.json({ error: `missing or wrong ${CSRF_HEADER} header` }, 403);
      }
      c.set("session", session);
      await next();
    };
  }
}

/** True for an address only this machine reaches (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}
