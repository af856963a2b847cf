/**
 * The step cache of a deployed workflow, configured by `ferry deploy` alone:
 * the agent config it writes names the stack's cache table, so an agent
 * started from it answers a rerun's cached step from the entry the first run
 * wrote (nothing runs) and `ferry status` shows the hit. `ferry start
 * --no-cache` runs the step again; `ferry cache ls|show|rm|clear --target
 * localstack` work on the stack's index and bucket.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { cacheBlobKey, cacheFolder, cacheKey } from "@ferry/dsl-compiler/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const dir = tempProject();
const ranLog = join(dir, "ran.log");
writeFileSync(ranLog, "");
const workflow = `cache-deployed-${suffix}`;
/** `train` logs each real run and answers with fresh random bytes, so a hit is told apart from a rerun. */
const spec = writeSpec(
  dir,
  "cache-deployed.json",
  JSON.stringify({
    version: "1.1",
    name: workflow,
    sites: { cloud: { type: "aws", region: "us-east-1" }, lab: { type: "edge" } },
    steps: [
      {
        name: "train",
        site: "lab",
        cache: true,
        outputs: ["model.bin"],
        process: {
          command: [
            "sh",
            "-c",
            `echo train >> ${ranLog}; head -c 2048 /dev/urandom > "$FERRY_JOB_DIR/model.bin"; echo "{\\"n\\": \\"$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')\\"}"`,
          ],
        },
      },
      {
        name: "report",
        depends: ["train"],
        site: "lab",
        inputs: ["model.bin"],
        process: {
          command: ["sh", "-c", 'read -r line; echo "{\\"bytes\\": $(wc -c < "$FERRY_JOB_DIR/model.bin")}"'],
        },
      },
    ],
  }),
);

let deployed: Deployed;
let agent: FerryProcess | undefined;
const runs = () => readFileSync(ranLog, "utf8").split("\n").filter(Boolean).length;
const cache = (...args: string[]) =>
  ferry(["cache", ...args.slice(0, 1), "--target", "localstack", spec, ...args.slice(1)], {
    cwd: dir,
    env: ferryEnv(),
  });

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  agent = await startAgent(dir, deployed.agentConfigs.lab!);
}, 600_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  await destroySpec(dir, spec);
}, 300_000);

describe("the step cache of a deployed workflow (LocalStack, agent from ferry deploy's config)", () => {
  let first: Awaited<ReturnType<typeof startAndWait>>;

  it("writes stepCache into the agent config: the stack's cache table and job bucket", () => {
    const config = JSON.parse(readFileSync(deployed.agentConfigs.lab!, "utf8")) as {
      stepCache?: { bucket: string; table: string };
    };
    expect(deployed.deployment.cacheTable).toBeTruthy();
    expect(config.stepCache).toEqual({
      bucket: deployed.deployment.jobBucket,
      table: deployed.deployment.cacheTable,
    });
    expect(deployed.stdout).toContain(deployed.deployment.cacheTable!);
  });

  it("answers the rerun's cached step from the first run's entry: nothing runs, ferry status shows the hit", async () => {
    first = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(first.code, `${first.stdout}\n${first.stderr}\n${agent!.stderr}`).toBe(0);
    expect(runs()).toBe(1);
    const second = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(runs()).toBe(1);
    // The restored model.bin is the first run's: report reads the same 2048 bytes.
    expect(JSON.parse(second.stdout.trim().split("\n").at(-1)!)).toEqual({ report: { bytes: 2048 } });

    const status = await ferry(["status", second.executionArn], { cwd: dir, env: ferryEnv() });
    expect(status.code, status.stderr).toBe(0);
    const trainRow = status.stdout.split("\n").find((l) => l.startsWith("train "))!;
    expect(trainRow).toContain(`hit (from ${first.executionArn.split(":").at(-1)})`);
    const reportRow = status.stdout.split("\n").find((l) => l.startsWith("report "))!;
    expect(reportRow).not.toContain("hit");
    const json = await ferry(["status", second.executionArn, "--json"], { cwd: dir, env: ferryEnv() });
    expect(JSON.parse(json.stdout).cacheHits).toEqual({
      train: { hits: 1, origin: first.executionArn },
    });
    // The first run's status has no hit.
    const firstStatus = await ferry(["status", first.executionArn, "--json"], { cwd: dir, env: ferryEnv() });
    expect(JSON.parse(firstStatus.stdout).cacheHits).toEqual({});

    // ferry provenance reads the records the agent wrote to the bucket: the hit names the first run as producer.
    const lineage = await ferry(["provenance", second.executionArn], { cwd: dir, env: ferryEnv() });
    expect(lineage.code, lineage.stderr).toBe(0);
    const trainLine = lineage.stdout.split("\n").find((l) => l.startsWith("train "))!;
    expect(trainLine).toMatch(/\bhit\b/);
    expect(trainLine).toContain(`${first.executionArn.split(":").at(-1)}#1`);
    const prov = await ferry(["provenance", second.executionArn, "--format", "prov-json"], {
      cwd: dir,
      env: ferryEnv(),
    });
    expect(prov.code, prov.stderr).toBe(0);
    expect(Object.keys(JSON.parse(prov.stdout).activity ?? {}).some((id) => id.includes("/report/"))).toBe(
      true,
    );
  }, 600_000);

  it("ferry start --no-cache runs the cached step again and leaves the step's input untouched", async () => {
    const fresh = await startAndWait(dir, spec, { timeoutSeconds: 180, args: ["--no-cache"] });
    expect(fresh.code, `${fresh.stdout}\n${fresh.stderr}`).toBe(0);
    expect(runs()).toBe(2);
    const status = await ferry(["status", fresh.executionArn, "--json"], { cwd: dir, env: ferryEnv() });
    expect(JSON.parse(status.stdout).cacheHits).toEqual({});
    // Its entry replaced the first one, under the same key: the next run is a hit from it.
    const after = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(after.code).toBe(0);
    expect(runs()).toBe(2);
    const hit = await ferry(["status", after.executionArn, "--json"], { cwd: dir, env: ferryEnv() });
    expect(JSON.parse(hit.stdout).cacheHits).toEqual({ train: { hits: 1, origin: fresh.executionArn } });
  }, 600_000);

  it("ferry cache ls|show|rm|clear --target localstack work on the stack's index and bucket", async () => {
    const ls = await cache("ls", "--json");
    expect(ls.code, ls.stderr).toBe(0);
    const entries = JSON.parse(ls.stdout) as Array<{
      key: string;
      step: string;
      site: string;
      problem?: string;
    }>;
    expect(entries).toEqual([expect.objectContaining({ workflow, step: "train", site: "lab" })]);
    expect(entries[0]!.problem).toBeUndefined();
    const table = await cache("ls");
    expect(table.stdout).toContain(entries[0]!.key.slice(0, 12));

    const show = await cache("show", entries[0]!.key.slice(0, 12));
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout) as { entry: { files: Array<{ name: string; sha256: string }> } };
    expect(shown.entry.files.map((f) => f.name)).toEqual(["model.bin"]);

    const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
    const cached = async () =>
      (
        (
          await s3.send(
            new ListObjectsV2Command({
              Bucket: deployed.deployment.jobBucket,
              Prefix: cacheFolder(workflow),
            }),
          )
        ).Contents ?? []
      ).map((o) => o.Key!);
    const entryObject = cacheKey(workflow, "lab", "train", entries[0]!.key);
    const blob = cacheBlobKey(workflow, "lab", shown.entry.files[0]!.sha256);
    expect(await cached()).toEqual(expect.arrayContaining([entryObject, blob]));

    const rm = await cache("rm", entries[0]!.key.slice(0, 12));
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain("removed 1 entry");
    expect(JSON.parse((await cache("ls", "--json")).stdout)).toEqual([]);
    const left = await cached();
    expect(left).not.toContain(entryObject);
    expect(left).not.toContain(blob);
    expect((await cache("rm", entries[0]!.key.slice(0, 12))).code).toBe(1);

    // With the entry gone the step runs again; clear removes every entry and file, the replaced ones too.
    const again = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(again.code).toBe(0);
    expect(runs()).toBe(3);
    expect(JSON.parse((await cache("ls", "--json")).stdout)).toHaveLength(1);
    const clear = await cache("clear");
    expect(clear.code, clear.stderr).toBe(0);
    expect(JSON.parse((await cache("ls", "--json")).stdout)).toEqual([]);
    expect(await cached()).toEqual([]);
    s3.destroy();

    const bad = await cache("show", "not-a-key");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("is not a cache key");
  }, 600_000);
});
