import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FERRY_ERRORS } from "@ferry/dsl-compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingCompletion } from "../in-memory/completions.ts";
import { InMemoryQueue } from "../in-memory/in-memory-queue.ts";
import { manifestOf, stepMessage, type TestStep } from "../testing/fixtures.ts";
import { createWorker, type Worker } from "../worker.ts";
import { HttpRuntime } from "./http.ts";

describe("HttpRuntime", () => {
  let server: Server;
  let worker: Worker;
  const queue = new InMemoryQueue();
  const completion = new RecordingCompletion();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        if (req.url === "/echo")
          res.end(JSON.stringify({ method: req.method, got: JSON.parse(body || "null") }));
        else if (req.url === "/text") res.end("plain");
        else if (req.url === "/hang") return;
        else res.writeHead(503).end("try later");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = (name: string, path: string, extra: Partial<TestStep> = {}): TestStep => ({
      name,
      runtime: { kind: "http", method: "POST", url: `${base}${path}`, headers: {} },
      ...extra,
    });
    worker = createWorker({
      queue,
      completion,
      manifests: [
        manifestOf("http", [
          http("echo", "/echo"),
          http("text", "/text"),
          http("down", "/down"),
          http("hang", "/hang", { timeoutSeconds: 1 }),
        ]),
      ],
      runtimes: { http: new HttpRuntime() },
    });
    await worker.start();
  });
  afterAll(async () => {
    await worker.stop({ graceMs: 0 });
    server.closeAllConnections();
    server.close();
  });

  async function run(step: string) {
    const message = stepMessage({ workflow: "http", step, input: { input: { q: 1 }, deps: {} } });
    queue.send(JSON.stringify(message));
    while (completion.forToken(message.token).length === 0) await new Promise((r) => setTimeout(r, 10));
    return completion.forToken(message.token)[0]!;
  }

  it("posts the step input and returns { statusCode, body } with the JSON answer, as Step Functions' HTTP task", async () => {
    expect(await run("echo")).toMatchObject({
      kind: "success",
      output: { statusCode: 200, body: { method: "POST", got: { input: { q: 1 }, deps: {} } } },
    });
  });

  it("keeps a non-JSON answer as text", async () => {
    expect(await run("text")).toMatchObject({ kind: "success", output: { statusCode: 200, body: "plain" } });
  });

  it("fails a non-2xx answer with Ferry.HttpError and the status", async () => {
    const record = await run("down");
    expect(record).toMatchObject({ kind: "failure", error: FERRY_ERRORS.http });
    expect((record as { cause: string }).cause).toContain("503");
  });

  it("stops a request at the step timeout", async () => {
    expect(await run("hang")).toMatchObject({ kind: "failure", error: FERRY_ERRORS.timeout });
  });
});
