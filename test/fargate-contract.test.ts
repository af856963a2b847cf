/**
 * The container contract of container steps on an `aws` site (Fargate),
 * exercised the only way it can be here: LocalStack cannot run ECS. The
 * workflow is deployed to LocalStack with `ferry deploy`; the task
 * definitions of its `aws`-target template (the same synthesis `ferry
 * deploy --target aws` deploys) are resolved against that stack and run
 * with the local Docker engine as ECS would start them (test/support/
 * fargate-tasks.ts): the agent image built from the cloud assembly's own
 * image asset fills each task's /ferry volume, then the step's own image
 * starts with the template's entry point, environment and volumes; only the
 * endpoint and credential variables are added. A real execution on
 * LocalStack Step Functions then has to SUCCEED.
 *
 * The steps' images: ferry-test/busybox:1 (a static busybox, no Node.js and
 * no C library at all) and an image the test builds FROM it. The workflow
 * covers input on stdin, an output on the last stdout line and one in
 * .output.json, a retry, heartbeats, job files in and out (also at the
 * fixed /ferry/job path), an output over 256 KiB passed by reference, and
 * ECS task protection while a step runs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  awsClientConfig,
  requireLocalStack,
  requireTestImage,
  TEST_IMAGE,
  TEST_REGION,
} from "./support/env.ts";
import {
  EcsAgentEndpoint,
  type RunningTask,
  runPools,
  synthesizeAwsTarget,
  taskDefinitions,
} from "./support/fargate-tasks.ts";
import { tempProject } from "./support/ferry-cli.ts";
import {
  evaluate,
  type PolicyDocument,
  physicalIds,
  readTemplate,
  rolePolicies,
  TemplateResolver,
} from "./support/iam-evidence.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  runSuffix,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const dir = tempProject();
const STEP_IMAGE = `ferry-fargate-step:${suffix}`;

const ecs = new EcsAgentEndpoint();
let spec: string;
let deployed: Deployed;
const tasks: RunningTask[] = [];

beforeAll(async () => {
  await requireLocalStack();
  await requireTestImage();
  await ecs.start();
  // A step image built from the repo's files on the locally built base image.
  const context = mkdtempSync(join(tmpdir(), "ferry-fargate-step-"));
  writeFileSync(
    join(context, "big.sh"),
    [
      "#!/bin/sh",
      "# Reads the staged job file, writes one back, answers with ~300 KiB in .output.json.",
      'data=$(cat "$FERRY_JOB_DIR/data.txt")',
      'echo "$data" | tr a-z A-Z > "$FERRY_JOB_DIR/report.txt"',
      "sleep 3",
      "blob=$(head -c 307200 /dev/zero | tr '\\0' x)",
      'printf \'{"data":"%s","blob":"%s"}\' "$data" "$blob" > "$FERRY_JOB_DIR/.output.json"',
      "echo not-the-output",
      "",
    ].join("\n"),
  );
  writeFileSync(join(context, "Dockerfile"), `FROM ${TEST_IMAGE}\nCOPY big.sh /app/big.sh\n`);
  execFileSync("docker", ["build", "-q", "-t", STEP_IMAGE, context], { stdio: ["ignore", "ignore", "pipe"] });

  spec = writeSpec(
    dir,
    "fargate.yaml",
    `name: fargate-${suffix}
sites:
  cloud: { type: aws, region: ${TEST_REGION} }
defaults: { timeoutSeconds: 120 }
steps:
  - name: make
    site: cloud
    retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 1 }
    container:
      image: ${TEST_IMAGE}
      env: { ECS_STATE_URL: "${ecs.url}/state" }
      command:
        - sh
        - -c
        - |
          read -r line
          if [ "$FERRY_ATTEMPT" = 1 ]; then echo "first attempt fails" >&2; exit 3; fi
          echo "ferry-${suffix}" > /ferry/job/data.txt
          state=$(busybox wget -qO- "$ECS_STATE_URL")
          echo "{\\"attempt\\": $FERRY_ATTEMPT, \\"task\\": $state, \\"stdin\\": $line}"
    outputs: [data.txt]
  - name: big
    depends: [make]
    site: cloud
    heartbeatSeconds: 3
    container: { image: ${STEP_IMAGE}, entrypoint: ["/bin/sh"], command: ["/app/big.sh"] }
    inputs: [data.txt]
    outputs: [report.txt]
  - name: check
    depends: [big]
    site: cloud
    container:
      image: ${TEST_IMAGE}
      command:
        - sh
        - -c
        - |
          n=$(wc -c < "$FERRY_INPUT_FILE")
          echo "{\\"inputBytes\\": $n}"
`,
  );
  deployed = await deploySpec(dir, spec);
}, 600_000);

afterAll(async () => {
  await Promise.all(tasks.map((t) => t.stop()));
  await ecs.stop();
  if (spec) await destroySpec(dir, spec);
  execFileSync("docker", ["image", "rm", "-f", STEP_IMAGE], { stdio: "ignore" });
}, 300_000);

describe("container steps on an aws site (the Fargate contract)", () => {
  it("runs the template's tasks with Docker and the execution SUCCEEDS with outputs and job files", async () => {
    // Given the aws-target template of the workflow ferry deploy put on LocalStack
    const synth = await synthesizeAwsTarget(spec, dir, "cdk.out.aws");
    const defs = taskDefinitions(synth.templatePath);
    // One pool per step image
    expect(defs).toHaveLength(2);
    expect(defs.map((d) => d.containers.find((c) => c.Name === "Step")!.Image).sort()).toEqual(
      [STEP_IMAGE, TEST_IMAGE].sort(),
    );
    // And the base image has no Node.js (nor any C library: its busybox is static)
    const probe = execFileSync(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        "none",
        TEST_IMAGE,
        "sh",
        "-c",
        "command -v node || ls /lib /lib64 /usr 2>&1 || true",
      ],
      { encoding: "utf8" },
    );
    expect(probe).not.toMatch(/node/);

    // When one task per pool runs as ECS would start it
    // (ECS_AGENT_URI names the recording endpoint)
    tasks.push(
      ...(await runPools(synth, { prefix: suffix, ecsAgentUri: (i) => `${ecs.url}/api/task-${i}` })),
    );
    const result = await startAndWait(dir, spec, { input: { greeting: "hej" }, timeoutSeconds: 180 });
    const logs = async () => (await Promise.all(tasks.map((t) => t.logs("Step")))).join("\n---\n");
    expect(result.code, `${result.stdout}\n${result.stderr}\n${await logs()}`).toBe(0);

    // Then the workflow output is the sink's, which received the large output resolved
    const output = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { check: { inputBytes: number } };
    expect(output.check.inputBytes).toBeGreaterThan(300 * 1024);
    // And the large output travelled by reference, the retried step answered on its second attempt while protected
    const sfn = new SFNClient(awsClientConfig());
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn, maxResults: 1000 }),
    );
    sfn.destroy();
    const succeeded = (history.events ?? [])
      .filter((e) => e.type === "TaskSucceeded")
      .map((e) => JSON.parse(e.taskSucceededEventDetails!.output!));
    expect(succeeded).toContainEqual({
      attempt: 2,
      task: { protected: true },
      stdin: { input: { greeting: "hej" }, deps: {} },
    });
    expect(JSON.stringify(succeeded)).toMatch(/"ferryOutputRef":\{[^}]*"site":"cloud"/);
    expect((history.events ?? []).filter((e) => e.type === "TaskFailed")).toHaveLength(1);

    // And the job files are in the bucket under the site's keys
    const execution = result.executionArn.split(":").at(-1)!;
    const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
    const read = async (name: string) =>
      (
        await s3.send(
          new GetObjectCommand({
            Bucket: deployed.deployment.jobBucket,
            Key: `${deployed.workflow}/cloud/${execution}/${name}`,
          }),
        )
      ).Body!.transformToString();
    expect(await read("data.txt")).toBe(`ferry-${suffix}\n`);
    expect(await read("report.txt")).toBe(`FERRY-${suffix.toUpperCase()}\n`);
    s3.destroy();

    // And each task protected itself while it ran a step and released protection after
    for (const [i] of defs.entries()) {
      const calls = ecs.calls.filter((c) => c.path === `/api/task-${i}/task-protection/v1/state`);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls[0]!.body).toEqual({ ProtectionEnabled: true, ExpiresInMinutes: 12 });
      expect(calls.at(-1)!.body).toEqual({ ProtectionEnabled: false });
    }
  });
});

describe("a Fargate pool's task role (IAM, evaluated on the aws-target template)", () => {
  it("protects only its own cluster's tasks and polls only its own pool's queue", async () => {
    // Given the aws-target template, resolved against the LocalStack stack
    const synth = await synthesizeAwsTarget(spec, dir, "cdk.out.aws-iam");
    const template = readTemplate(synth.templatePath);
    const resolver = new TemplateResolver(
      template,
      await physicalIds(synth.stackName, TEST_REGION),
      TEST_REGION,
    );
    const pools = Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::ECS::TaskDefinition")
      .map((task) => {
        const role = (task.Properties!.TaskRoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
        const managed = (
          template.Resources[role]!.Properties!.ManagedPolicyArns as Array<{ Ref: string }>
        ).map(
          (m) =>
            resolver.resolve(
              template.Resources[m.Ref]!.Properties!.PolicyDocument as never,
            ) as PolicyDocument,
        );
        const env = (
          task.Properties!.ContainerDefinitions as Array<{
            Name: string;
            Environment?: Array<{ Name: string; Value: unknown }>;
          }>
        ).find((c) => c.Name === "Step")!.Environment!;
        const queueUrl = String(
          resolver.resolve(env.find((e) => e.Name === "FERRY_QUEUE_URLS")!.Value as never),
        );
        return { policies: [...managed, ...rolePolicies(template, resolver, role)], queueUrl };
      });
    expect(pools).toHaveLength(2);
    const clusterId = Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::ECS::Cluster")![0];
    const cluster = String(resolver.resolve({ Ref: clusterId } as never));
    const queueArn = (url: string) => `arn:aws:sqs:${TEST_REGION}:000000000000:${url.split("/").at(-1)}`;
    for (const [i, pool] of pools.entries()) {
      const other = pools[1 - i]!;
      // Then it may protect a task of its cluster (what the agent asks the ECS agent endpoint for)
      expect(
        await evaluate(pool.policies, {
          action: "ecs:UpdateTaskProtection",
          resource: `arn:aws:ecs:${TEST_REGION}:000000000000:task/${cluster}/0123456789abcdef`,
        }),
      ).toBe("Allowed");
      // And no task of another cluster
      expect(
        await evaluate(pool.policies, {
          action: "ecs:UpdateTaskProtection",
          resource: `arn:aws:ecs:${TEST_REGION}:000000000000:task/someone-else/0123456789abcdef`,
        }),
      ).not.toBe("Allowed");
      // And it receives from its own pool's queue, never from the other image's pool's
      expect(
        await evaluate(pool.policies, { action: "sqs:ReceiveMessage", resource: queueArn(pool.queueUrl) }),
      ).toBe("Allowed");
      expect(
        await evaluate(pool.policies, { action: "sqs:ReceiveMessage", resource: queueArn(other.queueUrl) }),
      ).not.toBe("Allowed");
    }
  });
});
