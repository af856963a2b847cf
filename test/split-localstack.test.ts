/**
 * A workflow split into child state machines (`states:startExecution.sync:2`)
 * with joins across them, run for real. `--split-limit 100` lowers the split
 * threshold so that 48 braided steps (test/support/split-workflow.ts) become
 * a root and six children whose steps await each other's through the join
 * table. The same workflow runs:
 *
 * - in `ferry run`, on the embedded runtime;
 * - on LocalStack 4.14 with two agents: `ferry deploy --split-limit`
 *   creates every child machine, the execution SUCCEEDS through its child
 *   executions, and every step was given its dependencies' outputs, across
 *   machines too.
 *
 * The aws-target template of the same split is then evaluated with
 * iam-simulate: each machine's role allows every call its definition makes,
 * and only the root may start its children, describe or stop their executions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { type CompiledWorkflow, compileSpecFile } from "@ferry/dsl-compiler";
import { executionStatus, synthesizeStack } from "@ferry/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, TEST_REGION } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import {
  ACCOUNT,
  type AwsTemplate,
  evaluate,
  machineCalls,
  physicalIds,
  readTemplate,
  resolvedDefinition,
  rolePolicies,
  stateMachines,
  TemplateResolver,
} from "./support/iam-evidence.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  testAwsContext,
  writeSpec,
} from "./support/localstack-ferry.ts";
import {
  BRAID,
  expectedOutput,
  expectedRecords,
  SPLIT_LIMIT,
  splitWorkflowSpec,
} from "./support/split-workflow.ts";

const suffix = runSuffix();
const project = tempProject();
const spec = writeSpec(project, "braid.json", splitWorkflowSpec(`braid-${suffix}`));
const splitArgs = ["--split-limit", String(SPLIT_LIMIT)];

/** Each step's recorded `seen` (its dependencies' `paths`), by step; fails on a step recorded twice. */
function readRecords(file: string): Map<string, Record<string, number>> {
  const records = new Map<string, Record<string, number>>();
  for (const line of readFileSync(file, "utf8").trim().split("\n")) {
    const { step, seen } = JSON.parse(line) as { step: string; seen: Record<string, number> };
    expect(records.has(step), `${step} ran twice`).toBe(false);
    records.set(step, seen);
  }
  return records;
}

let compiled: CompiledWorkflow;
/** Machine id of each step's Task. */
const machineOf = new Map<string, string>();

beforeAll(async () => {
  const result = await compileSpecFile(spec, { splitLimit: SPLIT_LIMIT });
  compiled = result.compiled!;
  for (const m of [compiled.stateMachine, ...compiled.childStateMachines])
    for (const role of Object.values(m.states)) if (role.kind === "step") machineOf.set(role.step, m.id);
});

describe(`a workflow split at --split-limit ${SPLIT_LIMIT}`, () => {
  it("compiles into six child machines whose steps await steps of other machines", () => {
    expect(compiled.childStateMachines.map((c) => c.id).sort()).toEqual([
      "child-1",
      "child-2",
      "child-3",
      "child-4",
      "child-5",
      "child-6",
    ]);
    expect(machineOf.size).toBe(BRAID.length);
    const crossing = [compiled.stateMachine, ...compiled.childStateMachines].flatMap((m) =>
      Object.values(m.states).flatMap((r) =>
        r.kind === "await" && machineOf.get(r.dep) !== m.id ? [`${r.step}@${m.id} awaits ${r.dep}`] : [],
      ),
    );
    expect(crossing).toHaveLength(9);
  });

  it("runs in ferry run to the same outputs, every step given its dependencies' outputs", async () => {
    const recordFile = join(project, "records-local.jsonl");
    const result = await ferry(
      ["run", spec, ...splitArgs, "--json", "--input", JSON.stringify({ recordFile })],
      { cwd: project },
    );
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    expect(record.output).toEqual(expectedOutput(compiled.ir.sinks));
    expect(readRecords(recordFile)).toEqual(expectedRecords());
  }, 600_000);
});

describe(`the same workflow deployed to LocalStack with --split-limit ${SPLIT_LIMIT}`, () => {
  const sfn = new SFNClient(awsClientConfig());
  let deployed: Deployed;
  const agents: FerryProcess[] = [];
  let template: AwsTemplate;
  let resolver: TemplateResolver;
  /** Machine id (`root`, `child-1`, …) → the template's state machine. */
  const machines = new Map<string, ReturnType<typeof stateMachines>[number]>();

  beforeAll(async () => {
    await requireLocalStack();
    deployed = await deploySpec(project, spec, splitArgs);
    for (let i = 0; i < 2; i++)
      agents.push(
        await startAgent(project, deployed.agentConfigs.lab!, { runtime: "process", concurrency: 4 }),
      );
    const synthesized = synthesizeStack(compiled, {
      outDir: join(project, ".ferry", "split-aws"),
      projectRoot: project,
      target: "aws",
      region: TEST_REGION,
      nag: false,
    });
    template = readTemplate(synthesized.templatePath);
    resolver = new TemplateResolver(
      template,
      await physicalIds(deployed.deployment.stackName, TEST_REGION),
      TEST_REGION,
    );
    for (const m of stateMachines(template)) {
      const id = /-(root|child-\d+)-[0-9a-f]{8}$/.exec(m.name)?.[1];
      if (!id) throw new Error(`state machine ${m.name} is neither the root nor a child`);
      machines.set(id, m);
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop("SIGTERM")));
    await destroySpec(project, spec);
    sfn.destroy();
  }, 300_000);

  const arnOf = (id: string) => resolver.resolve({ Ref: machines.get(id)!.id }) as string;

  it("deploys the root and every child machine", async () => {
    expect([...machines.keys()].sort()).toEqual([
      "child-1",
      "child-2",
      "child-3",
      "child-4",
      "child-5",
      "child-6",
      "root",
    ]);
    expect(arnOf("root")).toBe(deployed.deployment.stateMachineArn);
    for (const id of machines.keys()) {
      const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arnOf(id) }));
      expect(described.status, id).toBe("ACTIVE");
    }
  });

  it("SUCCEEDS through six child executions; agents ran every step with its dependencies' outputs, joined across machines", async () => {
    const recordFile = join(project, "records-localstack.jsonl");
    const result = await startAndWait(project, spec, { input: { recordFile }, timeoutSeconds: 1500 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual(expectedOutput(compiled.ir.sinks));
    expect(readRecords(recordFile)).toEqual(expectedRecords());

    // ferry status follows the child executions, mapping their states with the indexes ferry deploy stored.
    const status = await executionStatus(testAwsContext(), result.executionArn);
    expect(status.description.status).toBe("SUCCEEDED");
    expect(status.children).toHaveLength(6);
    const ranIn = new Map<string, string>();
    for (const child of status.children) {
      expect(child.description.status).toBe("SUCCEEDED");
      expect(child.indexSource).toBe("deployment");
      const machine = /:execution:[^:]+-(child-\d+)-[0-9a-f]{8}:/.exec(child.executionArn)![1]!;
      for (const row of child.report.steps) {
        if (!machineOf.has(row.step)) continue;
        expect(row.state, row.step).toBe("succeeded");
        ranIn.set(row.step, machine);
      }
    }
    expect(ranIn).toEqual(machineOf);
    // Both agents took part.
    for (const agent of agents) expect(agent.stdout).toMatch(/"step":"s\d+"/);
  }, 1_800_000);

  it("lets each machine's role make its definition's calls, and only the root start, watch and stop its children", async () => {
    const refused: string[] = [];
    const started = new Map<string, string[]>();
    for (const [id, m] of machines) {
      const policies = rolePolicies(template, resolver, m.role);
      const calls = machineCalls(m.name, resolvedDefinition(template, resolver, m.id), TEST_REGION);
      started.set(
        id,
        calls.filter((c) => c.action === "states:StartExecution").map((c) => c.resource),
      );
      for (const call of calls) {
        const result = await evaluate(policies, call);
        if (result !== "Allowed")
          refused.push(`${id} ${call.state}: ${call.action} on ${call.resource} → ${result}`);
      }
    }
    expect(refused).toEqual([]);
    const children = [...machines.keys()].filter((id) => id !== "root");
    expect(new Set(started.get("root"))).toEqual(new Set(children.map(arnOf)));
    for (const id of children) expect(started.get(id)).toEqual([]);

    const executionOf = (arn: string) => `${arn.replace(":stateMachine:", ":execution:")}:run-1`;
    const other = `arn:aws:states:${TEST_REGION}:${ACCOUNT}:stateMachine:another-workflow-child-1-0000abcd`;
    const rule = `arn:aws:events:${TEST_REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
    const denied: Array<[string, string, string]> = [
      ["root", "states:StartExecution", arnOf("root")],
      ["root", "states:StartExecution", other],
      ["root", "states:DescribeExecution", executionOf(other)],
      ["root", "states:StopExecution", executionOf(other)],
      ["root", "states:StopExecution", executionOf(arnOf("root"))],
    ];
    for (const id of children) {
      for (const target of [...children.filter((c) => c !== id), "root"]) {
        denied.push([id, "states:StartExecution", arnOf(target)]);
        denied.push([id, "states:StopExecution", executionOf(arnOf(target))]);
      }
      denied.push([id, "events:PutRule", rule]);
    }
    const outcomes = [];
    for (const [id, action, resource] of denied) {
      const policies = rolePolicies(template, resolver, machines.get(id)!.role);
      outcomes.push(`${id}: ${action} on ${resource} → ${await evaluate(policies, { action, resource })}`);
    }
    expect(outcomes).toEqual(
      denied.map(([id, action, resource]) => `${id}: ${action} on ${resource} → ImplicitlyDenied`),
    );
  });
});
