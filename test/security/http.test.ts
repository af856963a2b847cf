import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import { HttpRuntime } from "@ferry/edge-agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestStep } from "../../edge-agent/src/testing/fixtures.ts";
import { runMessage, startWorker, stepMessage } from "./harness.ts";

async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// HTTP steps against real servers on the loopback: a hostile endpoint
// redirects to another origin to harvest the step's credentials, or answers
// an endless body.
describe("HTTP steps (hostile endpoints)", () => {
  const token = "Bearer s3cr3t-token";
  const seenByOther: IncomingHttpHeaders[] = [];
  let home: { server: Server; base: string };
  let other: { server: Server; base: string };
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    other = await listen((req, res) => {
      seenByOther.push(req.headers);
      res.end("{}");
    });
    home = await listen((req, res) => {
      if (req.url === "/away") res.writeHead(302, { location: `${other.base}/harvest` }).end();
      else if (req.url === "/hop") res.writeHead(307, { location: "/final" }).end();
      else if (req.url === "/final") res.end(JSON.stringify({ auth: req.headers.authorization }));
      else if (req.url === "/flood") {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        // Bounded: at most 64 MiB, far over the 1 MiB cap, then the server ends.
        const pump = () => {
          while (sent < 1024 && res.write(chunk)) sent++;
          if (sent >= 1024) res.end();
          else res.once("drain", pump);
        };
        res.on("close", () => {
          sent = 1024;
        });
        pump();
      } else res.writeHead(404).end();
    });
    const step = (name: string, path: string): TestStep => ({
      name,
      runtime: { kind: "http", method: "GET", url: `${home.base}${path}`, headers: { authorization: token } },
    });
    const started = await startWorker(
      "sechttp",
      [step("away", "/away"), step("hop", "/hop"), step("flood", "/flood")],
      {
        runtimes: { http: new HttpRuntime({ maxResponseBytes: 1024 * 1024 }) },
      },
    );
    stop = () => started.worker.stop({ graceMs: 0 });
    Object.assign(ctx, started);
  });
  const ctx = {} as Awaited<ReturnType<typeof startWorker>>;
  afterAll(async () => {
    await stop?.();
    home.server.close();
    other.server.close();
  });

  it("redirect: a redirect to another origin fails clearly and the other origin never sees the request", async () => {
    const record = await runMessage(
      ctx.queue,
      ctx.completion,
      stepMessage({ workflow: "sechttp", step: "away" }),
    );
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
    expect((record as { cause: string }).cause).toMatch(/redirected to another origin/);
    expect(seenByOther).toEqual([]);
  });

  it("a same-origin redirect is followed with the step's headers", async () => {
    const record = await runMessage(
      ctx.queue,
      ctx.completion,
      stepMessage({ workflow: "sechttp", step: "hop" }),
    );
    expect(record).toMatchObject({ kind: "success", output: { statusCode: 200, body: { auth: token } } });
  });

  it("a body over the configured cap fails the step instead of filling the agent's memory", async () => {
    const record = await runMessage(
      ctx.queue,
      ctx.completion,
      stepMessage({ workflow: "sechttp", step: "flood" }),
    );
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.nonRetriable });
    expect((record as { cause: string }).cause).toMatch(/over 1048576 bytes/);
  });
});
