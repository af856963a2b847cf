/**
 * examples/mixed-cloud-edge: every step kind, joined by job files: an edge
 * container, an aws container (a Fargate pool), an aws function (Lambda) and
 * an aws HTTP step.
 * - `ferry run` runs the whole workflow; the HTTP step posts to a server on
 *   127.0.0.1 (the example's URL pointed at it).
 * - LocalStack refuses the HTTP task, so `ferry deploy --target localstack`
 *   refuses the example, naming the step, before anything is deployed.
 * - The other three kinds run end to end on LocalStack in one execution:
 *   the example without its HTTP step (a sink, so nothing else changes) is
 *   deployed, and its steps are served as on AWS: a real agent for the edge
 *   site (Docker runtime), the aws-target Fargate task run with Docker as
 *   ECS would start it (test/support/fargate-tasks.ts), and `ferry functions
 *   serve` running the Lambda asset of the cloud assembly.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, requireTestImage } from "./support/env.ts";
import {
  EcsAgentEndpoint,
  type RunningTask,
  runPools,
  synthesizeAwsTarget,
} from "./support/fargate-tasks.ts";
import { ferry } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAgent,
  startAndWait,
  startFunctionHost,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const { dir, spec: exampleSpec } = exampleProject(suffix);
const READINGS = "sensor,value\na,3\nb,-1\na,5\nc,\nb,4\n";
const CLEAN = "sensor,value\na,3\na,5\nb,4\n";
const SUMMARY = { rows: 3, total: 12, sensors: { a: 8, b: 4 } };

/** The receiving end of the HTTP step: answers with what it was sent. */
let server: Server;
const received: Array<{ method: string; path: string; body: unknown }> = [];
let spec: string;

beforeAll(async () => {
  await requireTestImage();
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      received.push({ method: req.method!, path: req.url!, body: JSON.parse(body) });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ stored: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  spec = exampleSpec("mixed-cloud-edge");
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    spec,
    readFileSync(spec, "utf8").replace("https://hooks.example.com", `http://127.0.0.1:${port}`),
  );
}, 120_000);

afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe("examples/mixed-cloud-edge in ferry run", () => {
  it("runs all four step kinds, passes the job files on and posts the summary", async () => {
    const result = await ferry(["run", spec, "--json"], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
      runId: string;
      workflow: string;
      steps: Array<{ name: string; site: string; status: string }>;
      output: unknown;
    };
    expect(run.steps.map((s) => [s.name, s.site, s.status])).toEqual([
      ["capture", "device", "SUCCEEDED"],
      ["clean", "cloud", "SUCCEEDED"],
      ["summarize", "cloud", "SUCCEEDED"],
      ["publish", "cloud", "SUCCEEDED"],
    ]);
    expect(run.output).toEqual({ publish: { statusCode: 200, body: { stored: true } } });
    expect(received).toEqual([
      { method: "POST", path: "/readings", body: { input: {}, deps: { summarize: SUMMARY } } },
    ]);
    // The job files, each under the site that wrote it.
    const files = join(dir, ".ferry", "runs", run.runId, "files", run.workflow, run.runId);
    expect(readFileSync(join(files, "device", "readings.csv"), "utf8")).toBe(READINGS);
    expect(readFileSync(join(files, "cloud", "clean.csv"), "utf8")).toBe(CLEAN);
    expect(JSON.parse(readFileSync(join(files, "cloud", "summary.json"), "utf8"))).toEqual(SUMMARY);
  }, 300_000);
});

describe("examples/mixed-cloud-edge on LocalStack", () => {
  const ecs = new EcsAgentEndpoint();
  const running: FerryProcess[] = [];
  const tasks: RunningTask[] = [];
  let withoutHttp: string | undefined;
  let deployed: Deployed;

  beforeAll(async () => {
    await requireLocalStack();
    await ecs.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...running.map((p) => p.stop("SIGTERM")), ...tasks.map((t) => t.stop())]);
    await ecs.stop();
    if (withoutHttp) await destroySpec(dir, withoutHttp);
  }, 300_000);

  it("is refused as a whole, naming the HTTP step, before anything is deployed", async () => {
    const result = await ferry(["deploy", spec, "--target", "localstack"], { cwd: dir, env: ferryEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /HTTP steps on aws sites \(publish\) cannot run on LocalStack 4\.14, whose Step Functions rejects arn:aws:states:::http:invoke/,
    );
    // And nothing was deployed: there is no stack to start
    const start = await ferry(["start", spec], { cwd: dir, env: ferryEnv() });
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/stack ferry-mixed-cloud-edge-\S+ in us-east-1 at \S+ is not deployed/);
  }, 300_000);

  it("runs the edge container, the Fargate container and the Lambda function in one execution", async () => {
    // Given the example without its HTTP step (a sink: nothing depends on it)
    const text = readFileSync(spec, "utf8");
    const at = text.indexOf("  - name: publish\n");
    expect(at).toBeGreaterThan(0);
    withoutHttp = writeSpec(
      dir,
      join("examples", "mixed-cloud-edge", "without-http.yaml"),
      text.slice(0, at).replace(/^name: (\S+)$/m, "name: $1-nohttp"),
    );
    deployed = await deploySpec(dir, withoutHttp);
    const build = join(dir, "build-nohttp");
    const compiled = await ferry(["compile", withoutHttp, "--out", build], { cwd: dir, env: ferryEnv() });
    expect(compiled.code, compiled.stderr).toBe(0);

    // And its steps served as on AWS: an agent on the device, the Fargate pool's task, the Lambda asset
    running.push(await startAgent(dir, deployed.agentConfigs.device!, { runtime: "docker" }));
    const synth = await synthesizeAwsTarget(withoutHttp, dir, "cdk.out.aws");
    tasks.push(
      ...(await runPools(synth, { prefix: suffix, ecsAgentUri: (i) => `${ecs.url}/api/task-${i}` })),
    );
    expect(tasks).toHaveLength(1);
    running.push(await startFunctionHost(dir, withoutHttp, {}, build));

    // When it runs
    const result = await startAndWait(dir, withoutHttp, { timeoutSeconds: 240 });
    const logs = async () => (await Promise.all(tasks.map((t) => t.logs("Step")))).join("\n---\n");
    expect(
      result.code,
      `${result.stdout}\n${result.stderr}\n${await logs()}\n${running.map((p) => p.stderr).join("\n")}`,
    ).toBe(0);

    // Then it SUCCEEDS with the function's summary as its output
    expect(result.stderr).toMatch(/SUCCEEDED/);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual({ summarize: SUMMARY });
    // And every job file is in the bucket under the site that wrote it
    const execution = result.executionArn.split(":").at(-1)!;
    const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
    const read = async (site: string, name: string) =>
      (
        await s3.send(
          new GetObjectCommand({
            Bucket: deployed.deployment.jobBucket,
            Key: `${deployed.workflow}/${site}/${execution}/${name}`,
          }),
        )
      ).Body!.transformToString();
    try {
      expect(await read("device", "readings.csv")).toBe(READINGS);
      expect(await read("cloud", "clean.csv")).toBe(CLEAN);
      expect(JSON.parse(await read("cloud", "summary.json"))).toEqual(SUMMARY);
    } finally {
      s3.destroy();
    }
    // And the Fargate task protected itself while its step ran
    const calls = ecs.calls.filter((c) => c.path === "/api/task-0/task-protection/v1/state");
    expect(calls[0]?.body).toEqual({ ProtectionEnabled: true, ExpiresInMinutes: 12 });
    expect(calls.at(-1)?.body).toEqual({ ProtectionEnabled: false });
  }, 600_000);
});
