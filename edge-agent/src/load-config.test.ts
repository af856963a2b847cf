import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AgentError } from "./errors.ts";
import { loadAgentConfig } from "./load-config.ts";

async function dirWith(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ferry-config-"));
  await writeFile(join(dir, "agent.yaml"), yaml);
  return dir;
}

const FILE = `
site: lab
queues:
  - url: https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-site-lab
manifests: [manifest.json]
concurrency: 4
engine: { pullPolicy: never }
`;

describe("loadAgentConfig", () => {
  it("given a file, then defaults fill the rest and relative paths resolve against the cwd", async () => {
    const dir = await dirWith(FILE);
    const config = await loadAgentConfig({ argv: ["--config", "agent.yaml"], env: {}, cwd: dir });
    expect(config).toMatchObject({
      site: "lab",
      concurrency: 4,
      runtime: "docker",
      engine: { pullPolicy: "never", gpus: 0 },
      manifests: [join(dir, "manifest.json")],
      shutdownGraceSeconds: 30,
      metrics: { host: "127.0.0.1", port: 9464 },
    });
  });

  it("given FERRY_* variables and flags, then flags beat env, which beats the file", async () => {
    const dir = await dirWith(FILE);
    const config = await loadAgentConfig({
      argv: ["--config", "agent.yaml", "--concurrency", "8", "--endpoint-url", "http://127.0.0.1:4566"],
      env: {
        FERRY_CONCURRENCY: "6",
        FERRY_RUNTIME: "podman",
        FERRY_MANIFESTS: "s3://b/m1.json,s3://b/m2.json",
      },
      cwd: dir,
    });
    expect(config.concurrency).toBe(8);
    expect(config.runtime).toBe("podman");
    expect(config.manifests).toEqual(["s3://b/m1.json", "s3://b/m2.json"]);
    expect(config.aws.endpoint).toBe("http://127.0.0.1:4566");
  });

  it("given bad values, then the error names every field", async () => {
    const dir = await dirWith(`${FILE}\nruntime: lxc\nbogus: 1\n`);
    const error = await loadAgentConfig({
      argv: ["--config", "agent.yaml"],
      env: { FERRY_CONCURRENCY: "lots" },
      cwd: dir,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).code).toBe("CONFIG_INVALID");
    expect((error as Error).message).toMatch(/concurrency: .*number/);
    expect((error as Error).message).toMatch(/runtime: /);
    expect((error as Error).message).toMatch(/bogus/);
  });

  it("given no queue, then it says how to name one", async () => {
    const error = await loadAgentConfig({
      argv: ["--site", "lab", "--manifest", "m.json"],
      env: {},
      cwd: "/",
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain("queues: ");
  });
});

describe("install/agent.example.yaml", () => {
  it("is a valid config", async () => {
    const example = new URL("../install/agent.example.yaml", import.meta.url).pathname;
    const config = await loadAgentConfig({ argv: ["--config", example], env: {}, cwd: "/" });
    expect(config).toMatchObject({ site: "lab", runtime: "docker", engine: { pullPolicy: "missing" } });
  });
});
