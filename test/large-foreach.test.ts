/**
 * Large fan-outs (language 1.1): `foreach` over the records of a job file
 * and over a job-file listing compiles to a Distributed Map, run on two
 * runtimes with the same workflow (test/support/foreach-workflow.ts):
 *
 * - `ferry run`: Ferry's own map runner reads the items lazily, streams the
 *   results to the job files and a manifest, honours
 *   ToleratedFailurePercentage, and the dependant reads every result.
 * - LocalStack 4.14 with a real agent: the reader (getObject JSON,
 *   listObjectsV2), child executions, MaxConcurrency and tolerated failures
 *   are real, checked through the map run and its child executions. Its
 *   ResultWriter writes only a manifest with no result files, so there the
 *   dependant fails with the clear error that says so (kept by
 *   `onFailure: continue`), which is what this test checks.
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
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
  writeSpec,
} from "./support/localstack-ferry.ts";

const ITEMS = 500;

describe("Distributed Map in ferry run", () => {
  const project = tempProject();
  const spec = writeSpec(project, "fanout.json", foreachWorkflowSpec("fanout-local"));
  const run = async (input: ForeachInput) => {
    const result = await ferry(["run", spec, "--json", "--input", JSON.stringify(input)], { cwd: project });
    return { code: result.code, record: JSON.parse(result.stdout.trim().split("\n").at(-1)!), log: result.stderr };
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
    expect(record.error.cause).toMatch(/^100 of 500 items failed \(20\.00%, tolerated 10%\): items 0, 5, 10,/);
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

  /** The map run of `square` in an execution, its item counts and its child executions. */
  const squareRun = async (executionArn: string) => {
    const runs = await sfn.send(new ListMapRunsCommand({ executionArn }));
    const described = await Promise.all(
      (runs.mapRuns ?? []).map((r) => sfn.send(new DescribeMapRunCommand({ mapRunArn: r.mapRunArn! }))),
    );
    const square = described.find((d) => d.maxConcurrency === 20)!;
    const children: Array<{ status: string; input: { index: number }; output?: unknown }> = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new ListExecutionsCommand({ mapRunArn: square.mapRunArn!, nextToken }));
      for (const e of page.executions ?? []) {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn! }));
        children.push({
          status: d.status!,
          input: JSON.parse(d.input!),
          ...(d.output ? { output: JSON.parse(d.output) } : {}),
        });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return { square, children };
  };

  it(`fans out over ${ITEMS} records with MaxConcurrency 20; every child's output is its item's square`, async () => {
    const result = await startAndWait(project, spec, { input: { count: ITEMS }, timeoutSeconds: 600 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const { square, children } = await squareRun(result.executionArn);
    expect(square.itemCounts).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0 });
    expect(children).toHaveLength(ITEMS);
    for (const child of children) {
      expect(child.status).toBe("SUCCEEDED");
      expect(child.output).toEqual({ n: child.input.index, square: child.input.index ** 2 });
    }
    // LocalStack 4.14 writes no result files: the dependant says so instead of reading nothing.
    const output = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    expect(output.total).toEqual({
      error: "Ferry.InvalidOutput",
      cause: expect.stringContaining("lists no result files"),
    });
  }, 900_000);

  it("fails the run when an item fails and nothing is tolerated", async () => {
    const result = await startAndWait(project, spec, {
      input: { count: ITEMS, failEvery: 100 },
      timeoutSeconds: 600,
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).not.toBe(0);
    expect(result.stderr).toMatch(/FAILED/);
    const { children } = await squareRun(result.executionArn);
    const failed = children.filter((c) => c.status === "FAILED").map((c) => c.input.index);
    expect(failed.length).toBeGreaterThan(0);
    for (const index of failed) expect(index % 100).toBe(0);
  }, 900_000);

  it("refuses to deploy ToleratedFailurePercentage, which LocalStack 4.14 cannot run, before deploying anything", async () => {
    const tolerant = writeSpec(project, "tolerant.json", foreachWorkflowSpec(`fanout-tol-${suffix}`));
    const result = await ferry(["deploy", tolerant, "--target", "localstack"], { cwd: project, env: ferryEnv() });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /step square sets foreach\.toleratedFailurePercentage, which LocalStack 4\.14 cannot run .*run the workflow with ferry run or deploy it to AWS/,
    );
  });
});
