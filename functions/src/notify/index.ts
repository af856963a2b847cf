import { createHmac, timingSafeEqual } from "node:crypto";
import { parseSecretRef } from "@ferry/dsl-compiler/contract";
import { AwsSecretResolver, type SecretResolver } from "../secrets/resolver.ts";

/**
 * Signed HTTP callbacks for `notify: { http }`. Step Functions and
 * EventBridge API destinations cannot compute an HMAC over a body, so the
 * callback is posted by Ferry's own code: the stack's notify function (a
 * Lambda the notify rule invokes) in the cloud, the run itself in `ferry run`.
 * Both sign the same way:
 *
 *   Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * A receiver recomputes v1 over the raw body it got, compares in constant
 * time, and refuses a `t` too far from its clock (a replayed delivery).
 */
export const SIGNATURE_HEADER = "Ferry-Signature";

/** The execution statuses that end a run: each one announced once. */
export const NOTIFY_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;

/**
 * The message announced for every finished execution, version 1, on SNS
 * and in HTTP callbacks alike. `output` is the execution's output as a JSON
 * string (null unless SUCCEEDED), `error` and `cause` the failure's (null or
 * "" when there is none).
 */
export interface NotifyMessageV1 {
  v: 1;
  workflow: string;
  executionArn: string;
  status: (typeof NOTIFY_STATUSES)[number];
  output: string | null;
  error: string | null;
  cause: string | null;
  /** When the status changed (ISO 8601). */
  time: string;
}

/** Receivers should refuse signatures older (or newer) than this. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The `Ferry-Signature` value for `body` signed at `timestamp` (unix seconds). */
export function signNotifyBody(body: string, secret: string, timestamp: number): string {
  const t = Math.floor(timestamp);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

/**
 * Whether `header` signs exactly `body` with `secret`, within `toleranceSeconds`
 * of `now` (unix seconds). Any malformed header is simply not valid.
 */
export function verifyNotifySignature(
  header: string | undefined | null,
  body: string,
  secret: string,
  options: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  if (typeof header !== "string" || header.length > 1024) return false;
  const fields = new Map<string, string[]>();
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return false;
    const key = part.slice(0, eq).trim();
    fields.set(key, [...(fields.get(key) ?? []), part.slice(eq + 1).trim()]);
  }
  const t = fields.get("t");
  if (t?.length !== 1 || !/^\d{1,12}$/.test(t[0]!)) return false;
  const timestamp = Number(t[0]);
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS))
    return false;
  const expected = Buffer.from(signNotifyBody(body, secret, timestamp).split(",v1=")[1]!, "hex");
  return (fields.get("v1") ?? []).some((v) => {
    if (!/^[0-9a-f]{64}$/.test(v)) return false;
    return timingSafeEqual(Buffer.from(v, "hex"), expected);
  });
}

export interface NotifyDelivery {
  url: string;
  /** The message, exactly as sent and signed (a `NotifyMessageV1` as JSON). */
  body: string;
  secret: string;
  /** @default 10 000 */
  timeoutMs?: number;
  now?: () => number;
}

/** Posts one signed callback; rejects unless the receiver answers 2xx. */
export async function postNotify(delivery: NotifyDelivery): Promise<{ status: number }> {
  const now = (delivery.now ?? Date.now)() / 1000;
  const response = await fetch(delivery.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [SIGNATURE_HEADER]: signNotifyBody(delivery.body, delivery.secret, now),
      "user-agent": "Ferry-Notify/1",
    },
    body: delivery.body,
    redirect: "manual",
    signal: AbortSignal.timeout(delivery.timeoutMs ?? 10_000),
  });
  await response.body?.cancel().catch(() => undefined);
  if (response.status < 200 || response.status > 299)
    throw new Error(`the callback ${delivery.url} answered HTTP ${response.status}`);
  return { status: response.status };
}

/** The notify function's environment: where to post and which secret signs. */
export const NOTIFY_URL_ENV = "FERRY_NOTIFY_URL";
export const NOTIFY_SECRET_ENV = "FERRY_NOTIFY_SECRET_REF";

/**
 * The stack's notify function: the notify rule invokes it with the
 * `NotifyMessageV1` its input transformer made; it signs that message with
 * the secret and posts it. A failed post throws, so EventBridge's
 * asynchronous invocation retries it.
 */
export function createNotifyHandler(
  options: { env?: NodeJS.ProcessEnv; resolver?: SecretResolver } = {},
): (message: unknown) => Promise<{ status: number }> {
  const env = options.env ?? process.env;
  const url = env[NOTIFY_URL_ENV];
  const ref = env[NOTIFY_SECRET_ENV];
  if (!url || !ref || typeof parseSecretRef(ref) === "string")
    throw new Error(
      `the notify function needs ${NOTIFY_URL_ENV} and a secret reference in ${NOTIFY_SECRET_ENV}`,
    );
  const resolver = options.resolver ?? new AwsSecretResolver();
  return async (message) => {
    const secret = await resolver.resolve(ref);
    return postNotify({ url, body: JSON.stringify(message), secret });
  };
}
