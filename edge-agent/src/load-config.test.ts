import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./load-config.ts";

function configFile(aws: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-agent-config-"));
  const file = join(dir, "agent.json");
  writeFileSync(
    file,
    JSON.stringify({
      site: "lab",
      queues: [{ url: "http://127.0.0.1:4566/queue/q" }],
      manifests: ["manifest.json"],
      aws,
    }),
  );
  return file;
}

describe("agent config precedence", () => {
  it("keeps the config file's region over the shell's AWS_REGION, which is only a default", async () => {
    const file = configFile({ region: "eu-west-1" });
    const fromFile = await loadAgentConfig({
      argv: ["--config", file],
      env: { AWS_REGION: "us-east-1" },
      cwd: process.cwd(),
    });
    expect(fromFile.aws.region).toBe("eu-west-1");
    const fromDefault = await loadAgentConfig({
      argv: ["--config", configFile({})],
      env: { AWS_REGION: "us-east-1" },
      cwd: process.cwd(),
    });
    expect(fromDefault.aws.region).toBe("us-east-1");
  });

  it("takes the job buckets from --job-bucket over FERRY_JOB_BUCKETS, and none means any bucket", async () => {
    const file = configFile({});
    const fromFlags = await loadAgentConfig({
      argv: ["--config", file, "--job-bucket", "jobs-a", "--job-bucket", "jobs-b"],
      env: { FERRY_JOB_BUCKETS: "other" },
      cwd: process.cwd(),
    });
    expect(fromFlags.jobBuckets).toEqual(["jobs-a", "jobs-b"]);
    expect(
      (await loadAgentConfig({ argv: ["--config", file], env: {}, cwd: process.cwd() })).jobBuckets,
    ).toBe(undefined);
  });

  it("lets FERRY_AWS_REGION and --region override the file", async () => {
    const file = configFile({ region: "eu-west-1" });
    expect(
      (
        await loadAgentConfig({
          argv: ["--config", file],
          env: { FERRY_AWS_REGION: "ap-south-1" },
          cwd: process.cwd(),
        })
      ).aws.region,
    ).toBe("ap-south-1");
    expect(
      (
        await loadAgentConfig({
          argv: ["--config", file, "--region", "sa-east-1"],
          env: {},
          cwd: process.cwd(),
        })
      ).aws.region,
    ).toBe("sa-east-1");
  });
});

describe("agent environment", () => {
  it("reads the worker environment contract infra writes (comma-separated lists)", async () => {
    const config = await loadAgentConfig({
      argv: [],
      env: {
        FERRY_SITE: "cloud",
        FERRY_QUEUE_URLS: "http://127.0.0.1:4566/000000000000/a,http://127.0.0.1:4566/000000000000/b",
        FERRY_MANIFESTS: "s3://bucket/manifest.json",
        FERRY_JOB_BUCKETS: "jobs-a, jobs-b",
        FERRY_RUNTIME: "process",
      },
      cwd: process.cwd(),
    });
    expect(config.jobBuckets).toEqual(["jobs-a", "jobs-b"]);
    expect(config.site).toBe("cloud");
    expect(config.queues.map((q) => q.url)).toHaveLength(2);
    expect(config.manifests).toEqual(["s3://bucket/manifest.json"]);
    expect(config.runtime).toBe("process");
  });

  it("names a malformed variable and its value", async () => {
    await expect(
      loadAgentConfig({ argv: [], env: { FERRY_CONCURRENCY: "many" }, cwd: process.cwd() }),
    ).rejects.toThrow(/FERRY_CONCURRENCY="many": must be a number/);
  });
});

describe("loadAgentConfig for a Fargate worker", () => {
  const base = {
    FERRY_SITE: "cloud",
    FERRY_QUEUE_URLS: "http://127.0.0.1:4566/000000000000/q",
    FERRY_MANIFESTS: "/tmp/m.json",
  };

  it("takes the in-container runtime's image and ECS's agent endpoint from the environment", async () => {
    const config = await loadAgentConfig({
      argv: [],
      env: {
        ...base,
        FERRY_RUNTIME: "in-container",
        FERRY_STEP_IMAGE: "python:3.12",
        ECS_AGENT_URI: "http://169.254.170.2/api/t",
      },
      cwd: "/",
    });
    expect(config.runtime).toBe("in-container");
    expect(config.inContainer).toEqual({ image: "python:3.12", jobLink: "/ferry/job" });
    expect(config.taskProtection.agentUri).toBe("http://169.254.170.2/api/t");
  });

  it("refuses the in-container runtime without the image it runs in", async () => {
    await expect(
      loadAgentConfig({ argv: [], env: { ...base, FERRY_RUNTIME: "in-container" }, cwd: "/" }),
    ).rejects.toThrow(
      /inContainer\.image: the in-container runtime needs the image it runs in \(FERRY_STEP_IMAGE\)/,
    );
  });
});
