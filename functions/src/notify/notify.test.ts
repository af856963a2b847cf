import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import {
  createNotifyHandler,
  postNotify,
  SIGNATURE_HEADER,
  signNotifyBody,
  verifyNotifySignature,
} from "./index.ts";

const SECRET = "k3y-for-tests";
const BODY = '{"v":1,"workflow":"w","status":"SUCCEEDED"}';

describe("notify signatures", () => {
  const now = 1_800_000_000;

  it("verifies what it signed, and nothing else", () => {
    const header = signNotifyBody(BODY, SECRET, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyNotifySignature(header, BODY, SECRET, { now })).toBe(true);
    expect(verifyNotifySignature(header, BODY.replace("SUCCEEDED", "FAILED"), SECRET, { now })).toBe(false);
    expect(verifyNotifySignature(header, `${BODY} `, SECRET, { now })).toBe(false);
    expect(verifyNotifySignature(header, BODY, "another key", { now })).toBe(false);
  });

  it("refuses a timestamp outside the tolerance (a replay) and a re-dated signature", () => {
    const header = signNotifyBody(BODY, SECRET, now);
    expect(verifyNotifySignature(header, BODY, SECRET, { now: now + 301 })).toBe(false);
    expect(verifyNotifySignature(header, BODY, SECRET, { now: now + 60 })).toBe(true);
    const redated = header.replace(`t=${now}`, `t=${now + 100}`);
    expect(verifyNotifySignature(redated, BODY, SECRET, { now: now + 100 })).toBe(false);
  });

  it("treats hostile headers as invalid without throwing", () => {
    for (const header of [
      undefined,
      null,
      "",
      "t=",
      "v1=abc",
      `t=${now}`,
      `t=${now},v1=zz`,
      `t=${now},t=${now},v1=${"0".repeat(64)}`,
      `t=1e9,v1=${"0".repeat(64)}`,
      "x".repeat(5000),
      `t=${now},v1=${"0".repeat(63)}`,
    ])
      expect(verifyNotifySignature(header, BODY, SECRET, { now })).toBe(false);
  });
});

describe("posting a signed callback", () => {
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let status = 204;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  const url = new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`),
    ),
  );
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("the notify function's handler reads the key by reference and posts a body the receiver can verify", async () => {
    const resolved: string[] = [];
    const handler = createNotifyHandler({
      env: { FERRY_NOTIFY_URL: await url, FERRY_NOTIFY_SECRET_REF: "ssm:/ferry/hook-key" },
      resolver: {
        resolve: async (ref) => {
          resolved.push(ref);
          return SECRET;
        },
      },
    });
    await handler({ v: 1, workflow: "w", status: "FAILED", error: "E", cause: "c" });
    const last = received.at(-1)!;
    expect(resolved).toEqual(["ssm:/ferry/hook-key"]);
    expect(JSON.parse(last.body)).toMatchObject({ status: "FAILED", error: "E" });
    expect(last.headers["content-type"]).toBe("application/json");
    const signature = last.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyNotifySignature(signature, last.body, SECRET)).toBe(true);
    expect(verifyNotifySignature(signature, last.body.replace("FAILED", "SUCCEEDED"), SECRET)).toBe(false);
  });

  it("rejects when the receiver does not answer 2xx (so EventBridge retries the invocation)", async () => {
    status = 401;
    await expect(postNotify({ url: await url, body: BODY, secret: SECRET })).rejects.toThrow(
      /answered HTTP 401/,
    );
    status = 204;
  });

  it("refuses to start without a URL or with a malformed secret reference", () => {
    expect(() => createNotifyHandler({ env: { FERRY_NOTIFY_SECRET_REF: "ssm:/x" } })).toThrow(
      /FERRY_NOTIFY_URL/,
    );
    expect(() =>
      createNotifyHandler({
        env: { FERRY_NOTIFY_URL: "https://x.example", FERRY_NOTIFY_SECRET_REF: "plain" },
      }),
    ).toThrow(/secret reference/);
  });
});
