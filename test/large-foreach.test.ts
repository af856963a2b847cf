/**
 * Large fan-outs (language 1.1): `foreach` over the records of a job file
 * and over a job-file listing compiles to a Distributed Map, run on two
 * runtimes with the same workflow (test/support/foreach-workflow.ts):
 *
 * - `ferry run`: Ferry's own map runner reads the items lazily, streams the
 *   results to the job files and a manifest, honours
 *   ToleratedFailurePercentage, and the dependant reads every result.
 * - LocalStack 4.14 with a real agent: the reader (getObject JSON,
 *   listObjectsV2), child executions and MaxConcurrency are real, checked
 *   through the map run and the items' outputs. What LocalStack lacks is
 *   tested as the clear error it gets: its ResultWriter writes only a
 *   manifest with no result files, so the dependant fails saying so (kept
 *   by `onFailure: continue`); ToleratedFailurePercentage, which it cannot
 *   parse as an integer and ignores, is refused before deploying. It also
 *   ends a map run with failed items SUCCEEDED (Step Functions fails it):
 *   the test counts the failed items there and leaves failing the step to
 *   the `ferry run` cases. Which items failed is asserted from what Ferry
 *   controls (each item's attempt log and output); LocalStack's count of
 *   failed children then adds the items whose answer it refused: now and
 *   then its SendTaskSuccess answers InvalidToken for a token a map child
 *   has just sent (also without Ferry, and again a second later), the agent
 *   logs the attempt task-gone, and the child fails when its heartbeat
 *   times out (the occasional sixth failed item).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DescribeMapRunCommand, ListMapRunsCommand, SFNClient } from "@aws-sdk/client-sfn";
import {
  batchId,
  executionPrefix,
  jobFileKey,
  logFolder,
  provenanceFolder,
} from "@ferry/dsl-compiler/contract";
import { readExecutionLogs } from "@ferry/infra/cloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import {
  expectedTotal,
  type ForeachInput,
  foreachWorkflowSpec,
  TOLERATED_PERCENT,
} from "./support/foreach-workflow.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAgent,
  startAndWait,
  testAwsContext,
  writeSpec,
} from "./support/localstack-ferry.ts";

const ITEMS = 500;

describe("Distributed Map in ferry run", () => {
  const project = tempProject();
  const spec = writeSpec(project, "fanout.json", foreachWorkflowSpec("fanout-local"));
  const run = async (input: ForeachInput) => {
    const result = await ferry(["run", spec, "--json", "--input", JSON.stringify(input)], { cwd: project });
    return {
      code: result.code,
      record: JSON.parse(result.stdout.trim().split("\n").at(-1)!),
      log: result.stderr,
    };
  };

  it(`fans out over ${ITEMS} records and 3 files; the dependant reads every result`, async () => {
    const input = { count: ITEMS };
    const { code, record, log } = await run(input);
    expect(code, log).toBe(0);
    expect(record.output.total).toEqual(expectedTotal(input));
  });

  it(`succeeds with failed items under ${TOLERATED_PERCENT}%, reporting their indexes`, async () => {
    const input = { count: ITEMS, failEvery: 20 }; // 25 of 500 = 5%
    const { code, record, log } = await run(input);
    expect(code, log).toBe(0);
    expect(record.output.total).toEqual(expectedTotal(input));
    expect(record.output.total.failedIndexes).toHaveLength(25);
  });

  it(`fails the step past ${TOLERATED_PERCENT}% failed items, naming them`, async () => {
    const { code, record } = await run({ count: ITEMS, failEvery: 5 }); // 20%
    expect(code).toBe(1);
    expect(record.error.error).toBe("States.ExceedToleratedFailureThreshold");
    expect(record.error.cause).toMatch(
      /^100 of 500 items failed \(20\.00%, tolerated 10%\): items 0, 5, 10,/,
    );
  });
});

describe("foreach items' logs and provenance records in ferry run", () => {
  const project = tempProject();
  // Each item says its word on stderr: its log must hold that word and no other item's.
  const say = `const {item}=JSON.parse(require("node:fs").readFileSync(0,"utf8"));const w=item.w??item;console.error("said "+w);console.log(JSON.stringify({w}))`;
  const spec = (name: string, distributed: boolean) =>
    JSON.stringify({
      version: "1.1",
      name,
      sites: { lab: { type: "edge" } },
      steps: [
        {
          name: "make",
          site: "lab",
          process: {
            command: [
              "node",
              "-e",
              `require("node:fs").writeFileSync(process.env.FERRY_JOB_DIR+"/words.json",JSON.stringify([{w:"alpha"},{w:"beta"},{w:"gamma"}]));console.log(JSON.stringify({words:["alpha","beta","gamma"]}))`,
            ],
          },
          outputs: ["words.json"],
        },
        {
          name: "say",
          depends: ["make"],
          site: "lab",
          foreach: distributed ? { records: "words.json" } : { items: "deps.make.words" },
          process: { command: ["node", "-e", say] },
        },
      ],
    });
  const run = async (name: string, distributed: boolean) => {
    const file = writeSpec(project, `${name}.json`, spec(name, distributed));
    const result = await ferry(["run", file, "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    return { runDir: join(project, ".ferry", "runs", record.runId), runId: record.runId as string };
  };
  const sayRecords = async (runId: string) => {
    const result = await ferry(["provenance", runId, "--format", "prov-json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const activities = Object.values(JSON.parse(result.stdout).activity ?? {}) as Record<string, unknown>[];
    return activities.filter((a) => JSON.stringify(a).includes('"say"'));
  };

  it("an inline Map's 3 items get 3 logs, each with its own text, and 3 provenance records", async () => {
    const { runDir, runId } = await run("items-inline", false);
    const logs = readdirSync(join(runDir, "logs")).filter((f) => f.startsWith("say."));
    expect(logs.sort()).toEqual([
      "say.item-0.attempt-1.log",
      "say.item-1.attempt-1.log",
      "say.item-2.attempt-1.log",
    ]);
    const said = logs.map((f) => /said (\w+)/.exec(readFileSync(join(runDir, "logs", f), "utf8"))?.[1]);
    expect(said.sort()).toEqual(["alpha", "beta", "gamma"]);
    expect((await sayRecords(runId)).map((r) => r["ferry:index"]).sort()).toEqual([0, 1, 2]);
  });

  it("a Distributed Map's 3 items get 3 provenance records, one per index", async () => {
    const { runId } = await run("items-distributed", true);
    const records = await sayRecords(runId);
    expect(records.map((r) => r["ferry:index"]).sort()).toEqual([0, 1, 2]);
  });
});

describe("Batched Distributed Map (ItemBatcher) in ferry run", () => {
  const project = tempProject();
  const node = (script: string) => ({ command: ["node", "-e", script] });
  // Each child gets { Items, BatchInput }; it fails when an item's n equals input.failAt.
  const batchSpec = writeSpec(
    project,
    "batched.json",
    JSON.stringify({
      version: "1.1",
      name: "fanout-batched-local",
      sites: { lab: { type: "edge" } },
      steps: [
        {
          name: "make",
          site: "lab",
          process: node(
            `const fs=require("node:fs");const {input}=JSON.parse(fs.readFileSync(0,"utf8"));fs.writeFileSync(process.env.FERRY_JOB_DIR+"/rows.json",JSON.stringify(Array.from({length:input.count},(_,n)=>({n}))));console.log("{}")`,
          ),
          outputs: ["rows.json"],
        },
        {
          name: "chunk",
          depends: ["make"],
          site: "lab",
          foreach: {
            records: "rows.json",
            batch: { maxItems: 10, input: { tag: "t1" } },
            toleratedFailurePercentage: 10,
          },
          process: node(
            `const {input,item}=JSON.parse(require("node:fs").readFileSync(0,"utf8"));if(item.Items.some((i)=>i.n===input.failAt))process.exit(3);console.log(JSON.stringify({ns:item.Items.map((i)=>i.n),tag:item.BatchInput.tag}))`,
          ),
        },
        {
          name: "total",
          depends: ["chunk"],
          site: "lab",
          process: node(
            `const fs=require("node:fs");const {deps}=JSON.parse(fs.readFileSync(0,"utf8"));const d=process.env.FERRY_JOB_DIR;const ok=deps.chunk.succeeded.flatMap((p)=>JSON.parse(fs.readFileSync(d+"/"+p,"utf8"))).map((e)=>JSON.parse(e.Output));const failed=deps.chunk.failed.flatMap((p)=>JSON.parse(fs.readFileSync(d+"/"+p,"utf8"))).map((e)=>JSON.parse(e.Input).Items.length);console.log(JSON.stringify({sizes:ok.map((o)=>o.ns.length).sort((a,b)=>a-b),ns:ok.flatMap((o)=>o.ns).sort((a,b)=>a-b),tags:[...new Set(ok.map((o)=>o.tag))],failedItems:failed}))`,
          ),
        },
      ],
    }),
  );
  const run = async (input: object) => {
    const result = await ferry(["run", batchSpec, "--json", "--input", JSON.stringify(input)], {
      cwd: project,
    });
    return {
      code: result.code,
      record: JSON.parse(result.stdout.trim().split("\n").at(-1)!),
      log: result.stderr,
    };
  };

  it("runs 103 records as batches of at most 10, each with the BatchInput; the dependant reads every item", async () => {
    const { code, record, log } = await run({ count: 103 });
    expect(code, log).toBe(0);
    expect(record.output.total).toEqual({
      sizes: [3, ...Array(10).fill(10)],
      ns: Array.from({ length: 103 }, (_, n) => n),
      tags: ["t1"],
      failedItems: [],
    });
  });

  it("counts every item of a failed batch against the tolerance: 10 of 103 pass, 10 of 50 fail the step", async () => {
    const tolerated = await run({ count: 103, failAt: 42 }); // 10 items, 9.7%
    expect(tolerated.code, tolerated.log).toBe(0);
    expect(tolerated.record.output.total.failedItems).toEqual([10]);
    // A batch has no index: the failed one's attempt logs are under its own batch id, no other batch's.
    const runDir = join(project, ".ferry", "runs", tolerated.record.runId);
    const failedBatch = batchId(Array.from({ length: 10 }, (_, i) => ({ n: 40 + i })));
    const logs = readdirSync(join(runDir, "logs")).filter((f) => f.startsWith("chunk."));
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs)
      expect(log).toMatch(new RegExp(`^chunk\\.batch-${failedBatch}\\.attempt-\\d+\\.log$`));
    // And each of the 11 batches has its provenance record (attempts of the failed one included).
    const provenance = await ferry(["provenance", tolerated.record.runId, "--format", "prov-json"], {
      cwd: project,
    });
    expect(provenance.code, provenance.stderr).toBe(0);
    const batches = (Object.values(JSON.parse(provenance.stdout).activity ?? {}) as Record<string, unknown>[])
      .filter((a) => a["ferry:step"] === "chunk")
      .map((a) => a["ferry:batch"]);
    expect(new Set(batches).size).toBe(11);
    expect(batches).toContain(failedBatch);
    const failed = await run({ count: 50, failAt: 7 }); // 10 of 50 = 20%
    expect(failed.code).toBe(1);
    expect(failed.record.error.cause).toMatch(
      /^10 of 50 items failed \(20\.00%, tolerated 10%\): batches 0;/,
    );
  });
});

describe("Distributed Map on LocalStack", () => {
  const suffix = runSuffix();
  const project = tempProject();
  // LocalStack 4.14 cannot run ToleratedFailurePercentage: this workflow tolerates nothing.
  const spec = writeSpec(
    project,
    "fanout.json",
    foreachWorkflowSpec(`fanout-${suffix}`, { maxConcurrency: 20, toleratedFailurePercentage: 0 }),
  );
  const sfn = new SFNClient(awsClientConfig());
  let deployed: Deployed;
  let agent: FerryProcess;

  beforeAll(async () => {
    await requireLocalStack();
    deployed = await deploySpec(project, spec);
    agent = await startAgent(project, deployed.agentConfigs.lab!, { runtime: "process", concurrency: 8 });
  }, 300_000);

  afterAll(async () => {
    await agent?.stop("SIGTERM");
    await destroySpec(project, spec);
  }, 300_000);

  /** The map run of `square` in an execution (ListExecutions by map run answers 500 on LocalStack 4.14). */
  const squareRun = async (executionArn: string) => {
    const runs = await sfn.send(new ListMapRunsCommand({ executionArn }));
    const described = await Promise.all(
      (runs.mapRuns ?? []).map((r) => sfn.send(new DescribeMapRunCommand({ mapRunArn: r.mapRunArn! }))),
    );
    return described.find((d) => d.mapRunArn?.includes("/square:"))!;
  };
  /** Each `square` item's outcome, as the header of the attempt log its agent uploaded says. */
  const squareOutcomes = async (executionArn: string): Promise<Record<number, string>> => {
    const logs = await readExecutionLogs(testAwsContext(), executionArn, {
      workflow: deployed.workflow,
      step: "square",
    });
    return Object.fromEntries(
      logs.map((l) => [l.item ?? -1, /^# square attempt \d+ \(\w+\): ([\w-]+)/.exec(l.text)?.[1] ?? l.text]),
    );
  };
  const outputsOf = (file: string): Array<{ n: number; square: number }> =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));

  it(`fans out over ${ITEMS} records with MaxConcurrency 20; every item's output is its square`, async () => {
    const outputsFile = join(project, "outputs-all.jsonl");
    const result = await startAndWait(project, spec, {
      input: { count: ITEMS, outputsFile },
      timeoutSeconds: 1200,
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const square = await squareRun(result.executionArn);
    expect(square.maxConcurrency).toBe(20);
    expect(square.itemCounts).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0 });
    const outputs = outputsOf(outputsFile).sort((a, b) => a.n - b.n);
    expect(outputs).toEqual(Array.from({ length: ITEMS }, (_, n) => ({ n, square: n * n })));
    // Each item's log and provenance record under its own index, none overwriting another's.
    const prefix = executionPrefix(deployed.workflow, result.executionArn.split(":").at(-1)!);
    const itemsUnder = async (folder: string) => {
      const s3 = new S3Client(awsClientConfig());
      const items = new Set<string>();
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: deployed.deployment.jobBucket,
            Prefix: jobFileKey(prefix, "lab", folder),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) items.add(/\/item-(\d+)\//.exec(o.Key!)?.[1] ?? o.Key!);
        token = page.NextContinuationToken;
      } while (token);
      s3.destroy();
      return items;
    };
    const every = Array.from({ length: ITEMS }, (_, n) => String(n)).sort();
    expect([...(await itemsUnder(logFolder("square")))].sort()).toEqual(every);
    expect([...(await itemsUnder(`${provenanceFolder()}square/`))].sort()).toEqual(every);
    // LocalStack 4.14 writes no result files: the dependant says so instead of reading nothing.
    const output = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    expect(output.total).toEqual({
      error: "Ferry.InvalidOutput",
      cause: expect.stringContaining("lists no result files"),
    });
  }, 1_500_000);

  it("counts failed items in the map run, whose failure LocalStack 4.14 does not apply", async () => {
    // Fewer items than above: the point is which items fail, and each LocalStack item costs a round of queue and task-token calls.
    const items = 100;
    const outputsFile = join(project, "outputs-failing.jsonl");
    const result = await startAndWait(project, spec, {
      input: { count: items, failEvery: 20, outputsFile },
      timeoutSeconds: 1200,
    });
    // What Ferry controls, exactly: its agent ran every item once, and only those whose n 20 divides failed;
    // every other item succeeded, unless LocalStack refused the success (task-gone, see the file's header).
    const outcomes = await squareOutcomes(result.executionArn);
    const byOutcome = (outcome: string) =>
      Object.entries(outcomes)
        .filter(([, o]) => o === outcome)
        .map(([n]) => Number(n))
        .sort((a, b) => a - b);
    const all = Array.from({ length: items }, (_, n) => n);
    const failing = all.filter((n) => n % 20 === 0);
    const refused = byOutcome("task-gone");
    expect(Object.keys(outcomes)).toHaveLength(items);
    expect(byOutcome("failed")).toEqual(failing.filter((n) => !refused.includes(n)));
    expect(byOutcome("succeeded")).toEqual(all.filter((n) => !failing.includes(n) && !refused.includes(n)));
    const refusedSuccesses = refused.filter((n) => !failing.includes(n)).length;
    const done = new Set(outputsOf(outputsFile).map((o) => o.n));
    expect(all.filter((n) => !done.has(n))).toEqual(failing);
    // LocalStack counts as failed the 5 failures and every item whose success it refused (that child
    // waits for an answer until its heartbeat times out).
    const square = await squareRun(result.executionArn);
    expect(
      square.itemCounts,
      `items whose success LocalStack refused: ${JSON.stringify(refused)}`,
    ).toMatchObject({
      total: items,
      succeeded: items - 5 - refusedSuccesses,
      failed: 5 + refusedSuccesses,
    });
    // Step Functions fails a map run with any failed item and no tolerance (ferry run does, see above);
    // LocalStack 4.14 ends it SUCCEEDED, so the run goes on to the dependant's clear error.
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!).total.cause).toContain(
      "lists no result files",
    );
  }, 1_500_000);

  it("refuses to deploy ToleratedFailurePercentage, which LocalStack 4.14 cannot run, before deploying anything", async () => {
    const tolerant = writeSpec(project, "tolerant.json", foreachWorkflowSpec(`fanout-tol-${suffix}`));
    const result = await ferry(["deploy", tolerant, "--target", "localstack"], {
      cwd: project,
      env: ferryEnv(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /step square sets foreach\.toleratedFailurePercentage, which LocalStack 4\.14 cannot run .*run the workflow with ferry run or deploy it to AWS/,
    );
  });
});
