/**
 * Every example deploys to LocalStack through `ferry deploy` and runs to
 * SUCCEEDED with real agents (one per edge site: process and Docker
 * runtimes) and the local function host; job files land in S3 under the
 * execution's prefix; no message is left on any queue or dead-letter queue.
 */
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, requireTestImage } from "./support/env.ts";
import { eventually } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deadLetterDepths,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  queueDepth,
  runSuffix,
  startAgent,
  startAndWait,
  startFunctionHost,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const project = exampleProject(suffix);
const dir = project.dir;

/** A workflow whose first step writes a job file that the second reads. */
const jobFilesSpec = writeSpec(
  dir,
  "jobfiles.json",
  JSON.stringify({
    name: `jobfiles-${suffix}`,
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 60 },
    steps: [
      {
        name: "produce",
        site: "lab",
        process: { command: ["sh", "-c", 'echo hello-ferry > "$FERRY_JOB_DIR/greeting.txt"; echo "{}"'] },
        outputs: ["greeting.txt"],
      },
      {
        name: "consume",
        depends: ["produce"],
        site: "lab",
        process: {
          command: ["sh", "-c", 't=$(cat "$FERRY_JOB_DIR/greeting.txt"); echo "{\\"text\\": \\"$t\\"}"'],
        },
        inputs: ["greeting.txt"],
      },
    ],
  }),
);

interface Case {
  name: string;
  spec: string;
  /** Agent runtime per edge site. */
  runtimes: Record<string, "process" | "docker">;
  functionHost: boolean;
  output: unknown;
}

const cases: Case[] = [
  {
    name: "hello",
    spec: project.spec("hello"),
    runtimes: { laptop: "process" },
    functionHost: true,
    output: { summarize: { count: 8, sum: 31, mean: 3.875, max: 9 } },
  },
  {
    name: "etl-fanout",
    spec: project.spec("etl-fanout"),
    runtimes: { lab: "process" },
    functionHost: false,
    output: { merge: { partitions: ["ap", "eu", "us"], rows: 535 } },
  },
  {
    name: "foreach",
    spec: project.spec("foreach"),
    runtimes: { lab: "process" },
    functionHost: false,
    output: {
      report: {
        thumbnails: ["thumb-a.jpg", "thumb-b.jpg", "thumb-c.jpg", "thumb-d.jpg", "thumb-e.jpg"],
        count: 5,
      },
    },
  },
  {
    name: "edge-to-cloud",
    spec: project.spec("edge-to-cloud"),
    runtimes: { "plant-a": "docker", "plant-b": "docker" },
    functionHost: true,
    output: { aggregate: { sites: 2, readings: 2000, anomalies: 4, anomalyRate: 0.002 } },
  },
  {
    name: "job files",
    spec: jobFilesSpec,
    runtimes: { lab: "process" },
    functionHost: false,
    output: { consume: { text: "hello-ferry" } },
  },
];

const deployed = new Map<string, Deployed>();
const running: FerryProcess[] = [];

beforeAll(async () => {
  await requireLocalStack();
  await requireTestImage();
  // Two deploys at a time: synthesis is CPU-bound and this machine has two cores.
  const queue = [...cases];
  await Promise.all(
    [0, 1].map(async () => {
      for (let c = queue.shift(); c; c = queue.shift()) deployed.set(c.name, await deploySpec(dir, c.spec));
    }),
  );
}, 300_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGTERM")));
  await Promise.all(cases.map((c) => destroySpec(dir, c.spec)));
}, 300_000);

describe("examples on LocalStack", () => {
  it("deploys each with the localstack target and says what it left out", () => {
    const hello = deployed.get("hello")!;
    expect(hello.stdout).toMatch(/note: left out Lambda functions for summarize/);
    expect(hello.stdout).toMatch(/created stack ferry-hello-/);
    expect(hello.deployment.stateMachineArn).toMatch(/^arn:aws:states:us-east-1:/);
    expect(deployed.get("edge-to-cloud")!.deployment.region).toBe("eu-west-1");
    for (const d of deployed.values()) {
      for (const q of Object.values(d.deployment.queues)) expect(q.deadLetterUrl).toBeTruthy();
    }
  });

  for (const c of cases) {
    it(`runs ${c.name} to SUCCEEDED`, async () => {
      const d = deployed.get(c.name)!;
      const processes: FerryProcess[] = [];
      try {
        for (const [site, runtime] of Object.entries(c.runtimes)) {
          processes.push(await startAgent(dir, d.agentConfigs[site]!, { runtime }));
        }
        if (c.functionHost) processes.push(await startFunctionHost(dir, c.spec));
        running.push(...processes);
        const result = await startAndWait(dir, c.spec, { timeoutSeconds: 120 });
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual(c.output);
        expect(result.stderr).toMatch(/SUCCEEDED/);
        if (c.name === "job files") {
          const executionName = result.executionArn.split(":").at(-1)!;
          const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
          const head = await s3.send(
            new HeadObjectCommand({
              Bucket: d.deployment.jobBucket,
              Key: `${d.workflow}/lab/${executionName}/greeting.txt`,
            }),
          );
          s3.destroy();
          expect(head.ContentLength).toBe("hello-ferry\n".length);
        }
        expect(await deadLetterDepths(d.deployment)).toEqual(
          Object.fromEntries(Object.keys(d.deployment.queues).map((id) => [id, 0])),
        );
        for (const q of Object.values(d.deployment.queues)) {
          await eventually(
            async () => ((await queueDepth(q.url, d.deployment.region)) === 0 ? true : undefined),
            `queue ${q.id} of ${c.name} to be empty`,
            15_000,
          );
        }
      } finally {
        await Promise.all(processes.map((p) => p.stop("SIGTERM")));
      }
    });
  }
});
