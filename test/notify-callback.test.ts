/**
 * `notify: { http }` in `ferry run`: at the end of every run, success or
 * failure, the run POSTs the signed NotifyMessageV1 to a receiver on
 * 127.0.0.1. The receiver checks `Ferry-Signature` with the TypeScript
 * verifier and with examples/python-client/verify_callback.py; a tampered
 * body fails both. The key comes in as the secret reference's
 * FERRY_SECRET_<REF> override, as `ferry run` reads secrets.
 */
import { spawnSync } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { secretOverrideEnvName } from "@ferry/dsl-compiler/contract";
import { verifyNotifySignature } from "@ferry/functions/notify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry, REPO_ROOT, tempProject } from "./support/ferry-cli.ts";
import { writeSpec } from "./support/localstack-ferry.ts";

const KEY = "notify-key-for-this-test";
const REF = "ssm:/ferry/lang-notify/hook";
const VERIFIER = join(REPO_ROOT, "examples", "python-client", "verify_callback.py");

function pythonVerifies(header: string, body: string, key = KEY): boolean {
  const run = spawnSync("python3", [VERIFIER, key, header], { input: body });
  if (run.status !== 0 && run.status !== 1) throw new Error(`verify_callback.py: ${run.stderr}`);
  return run.status === 0;
}

describe("notify: { http } in ferry run", () => {
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  let url = "";
  const project = tempProject();
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ferry`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = async (fail: boolean) => {
    const spec = writeSpec(
      project,
      `notify-${fail ? "fail" : "ok"}.json`,
      JSON.stringify({
        version: "1.1",
        name: "notify-http-local",
        sites: { lab: { type: "edge" } },
        notify: { http: { url, secret: { secret: REF } } },
        steps: [
          {
            name: "work",
            site: "lab",
            process: { command: ["sh", "-c", fail ? "echo no >&2; exit 4" : `echo '{"answer":42}'`] },
          },
        ],
      }),
    );
    const before = received.length;
    const result = await ferry(["run", spec, "--json"], {
      cwd: project,
      env: { [secretOverrideEnvName(REF)]: KEY },
    });
    expect(received.length, result.stderr).toBe(before + 1);
    return { result, delivery: received.at(-1)! };
  };

  it("posts a signed SUCCEEDED message with the output; a tampered body fails verification", async () => {
    const { result, delivery } = await run(false);
    expect(result.code, result.stderr).toBe(0);
    const message = JSON.parse(delivery.body);
    expect(message).toMatchObject({ v: 1, workflow: "notify-http-local", status: "SUCCEEDED", error: null });
    expect(JSON.parse(message.output)).toEqual({ work: { answer: 42 } });
    expect(message.executionArn).toMatch(/^local:notify-http-local:/);
    const header = delivery.headers["ferry-signature"] as string;
    expect(verifyNotifySignature(header, delivery.body, KEY)).toBe(true);
    expect(pythonVerifies(header, delivery.body)).toBe(true);
    const tampered = delivery.body.replace('"SUCCEEDED"', '"FAILED"');
    expect(verifyNotifySignature(header, tampered, KEY)).toBe(false);
    expect(pythonVerifies(header, tampered)).toBe(false);
    expect(pythonVerifies(header, delivery.body, "a wrong key")).toBe(false);
  });

  it("posts a signed FAILED message with the failing step's error and cause", async () => {
    const { result, delivery } = await run(true);
    expect(result.code).toBe(1);
    const message = JSON.parse(delivery.body);
    expect(message).toMatchObject({ status: "FAILED", output: null });
    expect(message.error).toBeTruthy();
    expect(message.cause).toContain("4");
    const header = delivery.headers["ferry-signature"] as string;
    expect(verifyNotifySignature(header, delivery.body, KEY)).toBe(true);
    expect(pythonVerifies(header, delivery.body)).toBe(true);
    expect(pythonVerifies(header, `${delivery.body}\n`)).toBe(false);
  });
});
