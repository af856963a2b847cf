/**
 * IAM, proven call by call. A workflow with two edge sites and a cloud
 * function runs on LocalStack with every AWS SDK call of the agents and the
 * function host recorded (FERRY_RECORD_AWS_CALLS): job files across sites,
 * a large output, heartbeats, visibility extensions, cached steps on an
 * agent and in the function (the step cache index), a failing step, and a poison message moved to the
 * dead-letter queue. LocalStack enforces no IAM,
 * so each recorded call is then evaluated with @cloud-copilot/iam-simulate
 * against the `aws`-target template's policy of the principal that made it,
 * as are the state machine roles' calls read from every example's ASL (and
 * from a synthesized-only workflow with a cloud HTTP step). A
 * fixed list of cross-site calls must be denied, and every SDK command in
 * runtime code must have been recorded at least once.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { compileSpecFile } from "@ferry/dsl-compiler";
import type { RecordedAwsCall } from "@ferry/functions/worker";
import { synthesizeStack } from "@ferry/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack } from "./support/env.ts";
import { eventually, REPO_ROOT } from "./support/ferry-cli.ts";
import {
  ACCOUNT,
  type AwsTemplate,
  evaluate,
  functionRole,
  keyPolicies,
  machineCalls,
  type PolicyDocument,
  physicalIds,
  readRecordedCalls,
  readTemplate,
  requestOf,
  resolvedDefinition,
  rolePolicies,
  stateMachines,
  TemplateResolver,
  workerPolicy,
} from "./support/iam-evidence.ts";
import {
  type Deployed,
  deadLetterDepths,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  startFunctionHost,
  writeSpec,
} from "./support/localstack-ferry.ts";

const REGION = "us-east-1";
const suffix = runSuffix();
const project = exampleProject(suffix);
const dir = project.dir;
const calls = join(dir, "aws-calls.jsonl");
const recording = { FERRY_RECORD_AWS_CALLS: calls };
/** Site a's step and the function read this parameter; site b's step reads the secret. */
const parameterName = `/ferry-evidence/${suffix}/api-key`;
const secretName = `ferry-evidence/${suffix}/service`;
const ssm = new SSMClient({ ...awsClientConfig(), region: REGION });
const secretsManager = new SecretsManagerClient({ ...awsClientConfig(), region: REGION });

writeFileSync(
  join(dir, "tally.ts"),
  "export async function handler(event: { deps: { relay: { size: number } } }) {\n  return { size: event.deps.relay.size };\n}\n",
);
/** Site a produces a job file that site b reads; b emits an output over 256 KiB that a reads back by reference. */
const spec = writeSpec(
  dir,
  "evidence.json",
  JSON.stringify({
    version: "1.1",
    name: `evidence-${suffix}`,
    sites: { cloud: { type: "aws", region: REGION }, a: { type: "edge" }, b: { type: "edge" } },
    defaults: { timeoutSeconds: 60 },
    steps: [
      {
        name: "produce",
        site: "a",
        // Beats every 3 s, so the five-second step sends one; 9 s leaves room for a loaded machine.
        heartbeatSeconds: 9,
        process: {
          env: { API_KEY: { secret: `ssm:${parameterName}` } },
          command: [
            "sh",
            "-c",
            'read -r line; case "$line" in *\'"fail":true\'*) echo refused >&2; exit 3;; esac; sleep 5; echo data > "$FERRY_JOB_DIR/data.txt"; echo "{}"',
          ],
        },
        outputs: ["data.txt"],
      },
      {
        name: "big",
        depends: ["produce"],
        site: "b",
        inputs: ["data.txt"],
        process: {
          env: { TOKEN: { secret: `secretsmanager:${secretName}#token` } },
          command: [
            "sh",
            "-c",
            'cat >/dev/null; printf \'{"blob":"%s"}\\n\' "$(head -c 300000 /dev/zero | tr "\\0" x)"',
          ],
        },
      },
      {
        name: "relay",
        depends: ["big"],
        site: "a",
        // Cached: site a's agent looks up, claims, writes and releases in the stack's cache index.
        cache: true,
        process: {
          command: ["sh", "-c", 'n=$(wc -c); echo "{\\"size\\": $n}"'],
        },
      },
      {
        name: "tally",
        depends: ["relay"],
        site: "cloud",
        // Cached too: the function looks up, claims, writes and releases with its own role.
        cache: true,
        function: { handler: "tally.ts#handler", env: { API_KEY: { secret: `ssm:${parameterName}` } } },
      },
    ],
  }),
);

/**
 * Synthesized only, never deployed: no example has an HTTP step on an aws
 * site, so this one gives the state machine roles an `http:invoke` to check.
 */
const httpSpec = writeSpec(
  dir,
  "evidence-http.json",
  JSON.stringify({
    name: `evidence-http-${suffix}`,
    sites: { cloud: { type: "aws", region: REGION }, a: { type: "edge" } },
    steps: [
      { name: "prepare", site: "a", process: { command: ["sh", "-c", 'echo "{}"'] } },
      {
        name: "notify",
        depends: ["prepare"],
        site: "cloud",
        http: { method: "POST", url: "https://hooks.example.com/ferry" },
      },
    ],
  }),
);

/**
 * Synthesized only: the rules of a workflow's triggers start executions with
 * a role of their own, a principal no SDK call of Ferry's runtime makes.
 */
const triggerSpec = writeSpec(
  dir,
  "evidence-triggers.json",
  JSON.stringify({
    version: "1.1",
    name: `evidence-triggers-${suffix}`,
    sites: { cloud: { type: "aws", region: REGION }, a: { type: "edge" } },
    steps: [{ name: "prepare", site: "a", process: { command: ["sh", "-c", 'echo "{}"'] } }],
    triggers: [
      { name: "tick", schedule: "rate(1 hour)" },
      { name: "uploads", s3: { prefix: "incoming/" }, input: { key: "$.detail.object.key" } },
      { name: "orders", event: { source: ["shop.orders"] } },
    ],
  }),
);

let deployed: Deployed;
let template: AwsTemplate;
let resolver: TemplateResolver;
let recorded: RecordedAwsCall[] = [];
let localStackOnly: RecordedAwsCall[] = [];
const running: FerryProcess[] = [];

beforeAll(async () => {
  await requireLocalStack();
  await ssm.send(
    new PutParameterCommand({ Name: parameterName, Value: "evidence-key", Type: "SecureString" }),
  );
  await secretsManager.send(
    new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify({ token: "evidence-token" }) }),
  );
  deployed = await deploySpec(dir, spec);
  // Site b's agent finds its dead-letter queue itself (RedrivePolicy, then GetQueueUrl);
  // both agents extend visibility often enough for a five-second step to need it.
  for (const [site, file] of Object.entries(deployed.agentConfigs)) {
    const config = JSON.parse(readFileSync(file, "utf8")) as { queues: Array<{ deadLetterUrl?: string }> };
    if (site === "b") for (const q of config.queues) delete q.deadLetterUrl;
    writeFileSync(file, JSON.stringify({ ...config, visibilityTimeoutSeconds: 10 }));
  }
  for (const site of ["a", "b"]) {
    running.push(await startAgent(dir, deployed.agentConfigs[site]!, { env: recording }));
  }
  running.push(await startFunctionHost(dir, spec, recording));
  const ok = await startAndWait(dir, spec, { timeoutSeconds: 120 });
  expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
  expect(JSON.parse(ok.stdout.trim().split("\n").at(-1)!)).toMatchObject({
    tally: { size: expect.any(Number) },
  });
  const failed = await startAndWait(dir, spec, { input: { fail: true }, timeoutSeconds: 120 });
  expect(failed.code).not.toBe(0);
  const sqs = new SQSClient({ ...awsClientConfig(), region: REGION });
  await sqs.send(
    new SendMessageCommand({ QueueUrl: deployed.deployment.queues["site-b"]!.url, MessageBody: "{poison" }),
  );
  sqs.destroy();
  await eventually(
    async () => ((await deadLetterDepths(deployed.deployment))["site-b"] === 1 ? true : undefined),
    "the poison message to reach site b's dead-letter queue",
    60_000,
  );
  await Promise.all(running.splice(0).map((p) => p.stop("SIGTERM")));
  const all = readRecordedCalls(calls);
  // On LocalStack (a loopback endpoint) the agent checks tokens by reading the execution's history,
  // because LocalStack's heartbeats cannot; on AWS it checks with the heartbeat recorded here too, so
  // the aws-target policies rightly grant no history reads. Those calls are kept apart, not evaluated.
  localStackOnly = all.filter((c) => c.kind === "agent" && c.action === "states:GetExecutionHistory");
  recorded = all.filter((c) => !localStackOnly.includes(c));

  const { compiled } = await compileSpecFile(spec);
  const synthesized = synthesizeStack(compiled!, {
    outDir: join(dir, ".ferry", "evidence-aws"),
    projectRoot: dir,
    target: "aws",
    region: REGION,
    nag: false,
  });
  template = readTemplate(synthesized.templatePath);
  resolver = new TemplateResolver(template, await physicalIds(deployed.deployment.stackName, REGION), REGION);
}, 600_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGTERM")));
  await destroySpec(dir, spec);
  await ssm.send(new DeleteParameterCommand({ Name: parameterName })).catch(() => undefined);
  await secretsManager
    .send(new DeleteSecretCommand({ SecretId: secretName, ForceDeleteWithoutRecovery: true }))
    .catch(() => undefined);
  ssm.destroy();
  secretsManager.destroy();
}, 300_000);

function policiesOf(call: Pick<RecordedAwsCall, "kind" | "site" | "step">): PolicyDocument[] {
  if (call.kind === "agent") {
    const site = call.site!;
    return [
      workerPolicy(
        template,
        resolver,
        `WorkflowWorkerPolicyArnSite${site[0]!.toUpperCase()}${site.slice(1)}`,
      ),
    ];
  }
  return rolePolicies(template, resolver, functionRole(template, call.step!));
}

describe("IAM evidence", () => {
  it("recorded the calls of both agents and the function host", () => {
    const who = new Set(recorded.map((c) => `${c.kind}:${c.site ?? c.step}`));
    expect(who).toEqual(new Set(["agent:a", "agent:b", "function:tally"]));
    // Each principal read its own steps' secrets.
    const reads = new Set(
      recorded
        .filter((c) => c.action === "ssm:GetParameter" || c.action === "secretsmanager:GetSecretValue")
        .map((c) => `${c.kind}:${c.site ?? c.step}:${c.action}`),
    );
    expect(reads).toEqual(
      new Set([
        "agent:a:ssm:GetParameter",
        "agent:b:secretsmanager:GetSecretValue",
        "function:tally:ssm:GetParameter",
      ]),
    );
    // Both cached steps used the cache index, each with its own credentials.
    const cacheUsers = new Set(
      recorded.filter((c) => c.action.startsWith("dynamodb:")).map((c) => `${c.kind}:${c.site ?? c.step}`),
    );
    expect(cacheUsers).toEqual(new Set(["agent:a", "function:tally"]));
  });

  it("allows every recorded call for the principal that made it", async () => {
    const refused: string[] = [];
    const keys = keyPolicies(template, resolver);
    for (const call of recorded) {
      const request = requestOf(call);
      // KMS lets IAM policies grant only what the key policy delegates to the account.
      const keyPolicy = call.action.startsWith("kms:") ? keys.get(call.resource) : undefined;
      const result = await evaluate(
        policiesOf(call),
        keyPolicy ? { ...request, resourcePolicy: keyPolicy } : request,
      );
      if (result !== "Allowed") {
        refused.push(
          `${call.kind} ${call.site ?? call.step}: ${call.action} on ${call.resource} → ${result}`,
        );
      }
    }
    expect(refused).toEqual([]);
  });

  it("allows every call the state machine roles make, read from each example's definitions", async () => {
    const refused: string[] = [];
    const actions = new Set<string>();
    const examples = readdirSync(join(REPO_ROOT, "examples"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => project.spec(e.name));
    for (const file of [spec, httpSpec, ...examples]) {
      const { compiled } = await compileSpecFile(file);
      const region = Object.values(compiled!.ir.sites).find((s) => s.type === "aws")?.region ?? REGION;
      const synthesized = synthesizeStack(compiled!, {
        outDir: join(dir, ".ferry", "evidence-machines", compiled!.ir.name),
        projectRoot: dir,
        target: "aws",
        region,
        nag: false,
      });
      const t = readTemplate(synthesized.templatePath);
      const r = file === spec ? resolver : new TemplateResolver(t, new Map(), region);
      for (const machine of stateMachines(t)) {
        const policies = rolePolicies(t, r, machine.role);
        for (const call of machineCalls(machine.name, resolvedDefinition(t, r, machine.id), region)) {
          actions.add(call.action);
          const result = await evaluate(policies, call);
          if (result !== "Allowed") {
            refused.push(`${machine.name} ${call.state}: ${call.action} on ${call.resource} → ${result}`);
          }
          if (call.action === "states:InvokeHTTPEndpoint") {
            // The method and endpoint conditions are the only scoping: another endpoint or method is denied.
            for (const context of [
              { ...call.context, "states:HTTPEndpoint": "https://elsewhere.example.com/" },
              { ...call.context, "states:HTTPMethod": "DELETE" },
            ]) {
              const other = await evaluate(policies, { ...call, context });
              if (other !== "ImplicitlyDenied") {
                refused.push(`${machine.name} ${call.state}: ${JSON.stringify(context)} → ${other}`);
              }
            }
          }
          if (call.action.startsWith("s3:")) {
            // A Distributed Map reads its own items and writes its own results folder, nothing beside them.
            const elsewhere =
              call.action === "s3:ListBucket"
                ? {
                    ...call,
                    context: {
                      "s3:prefix": String(call.context!["s3:prefix"]).replace(/[^/]+\/$/, "other/"),
                    },
                  }
                : {
                    ...call,
                    resource: call.resource.includes("/.ferry/foreach/")
                      ? call.resource.replace(/\/\.ferry\/foreach\/[^/]+\//, "/.ferry/foreach/another-step/")
                      : call.resource.replace(/[^/]+$/, "elsewhere.json"),
                  };
            const other = await evaluate(policies, elsewhere);
            if (other !== "ImplicitlyDenied")
              refused.push(`${machine.name} ${call.state}: ${call.action} beside its own keys → ${other}`);
          }
        }
      }
    }
    expect(refused).toEqual([]);
    expect([...actions]).toEqual(
      expect.arrayContaining([
        "sqs:SendMessage",
        "states:InvokeHTTPEndpoint",
        // examples/large-foreach: Distributed Maps over records and over a listing.
        "states:StartExecution",
        "states:RedriveExecution",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
      ]),
    );
  });

  it("lets the trigger rules' role start executions of the root machine and do nothing else", async () => {
    const { compiled } = await compileSpecFile(triggerSpec);
    const synthesized = synthesizeStack(compiled!, {
      outDir: join(dir, ".ferry", "evidence-triggers"),
      projectRoot: dir,
      target: "aws",
      region: REGION,
      nag: false,
    });
    const t = readTemplate(synthesized.templatePath);
    const r = new TemplateResolver(t, new Map(), REGION);
    const rules = Object.values(t.Resources).filter((x) => x.Type === "AWS::Events::Rule");
    expect(rules).toHaveLength(3);
    const targets = rules.flatMap(
      (rule) =>
        rule.Properties!.Targets as Array<{ Arn: unknown; RoleArn: { "Fn::GetAtt": [string, string] } }>,
    );
    const roles = new Set(targets.map((target) => target.RoleArn["Fn::GetAtt"][0]));
    expect(roles.size).toBe(1);
    const [role] = [...roles] as [string];
    const trust = t.Resources[role]!.Properties!.AssumeRolePolicyDocument as PolicyDocument;
    expect(trust.Statement.map((s) => (s as { Principal?: unknown }).Principal)).toEqual([
      { Service: "events.amazonaws.com" },
    ]);
    const machines = stateMachines(t);
    // The root machine is the construct's `StateMachine` (children are `StateMachine-child-<n>`).
    const root = machines.find((m) => /^WorkflowStateMachine[0-9A-F]{8}$/.test(m.id))!;
    const rootArn = r.resolve({ Ref: root.id }) as string;
    for (const target of targets) expect(r.resolve(target.Arn)).toBe(rootArn);
    const policies = rolePolicies(t, r, role);
    const statements = policies.flatMap((p) => p.Statement as Array<{ Action: unknown; Resource: unknown }>);
    expect(statements).toEqual([
      expect.objectContaining({ Action: "states:StartExecution", Resource: rootArn }),
    ]);
    expect(await evaluate(policies, { action: "states:StartExecution", resource: rootArn })).toBe("Allowed");
    const denied = [
      { action: "states:StartSyncExecution", resource: rootArn },
      {
        action: "states:StopExecution",
        resource: rootArn.replace(":stateMachine:", ":execution:").concat(":x"),
      },
      {
        action: "states:StartExecution",
        resource: rootArn.replace(/:stateMachine:.*$/, ":stateMachine:another-workflow"),
      },
      ...machines
        .filter((m) => m.id !== root.id)
        .map((m) => ({ action: "states:StartExecution", resource: r.resolve({ Ref: m.id }) as string })),
      { action: "sqs:SendMessage", resource: `arn:aws:sqs:${REGION}:000000000000:any` },
    ];
    for (const request of denied) {
      expect(`${request.action} ${request.resource}: ${await evaluate(policies, request)}`).toBe(
        `${request.action} ${request.resource}: ImplicitlyDenied`,
      );
    }
  });

  it("lets only the notify rule publish to the topic it creates, over TLS", async () => {
    const { compiled } = await compileSpecFile(project.spec("python-client"));
    const synthesized = synthesizeStack(compiled!, {
      outDir: join(dir, ".ferry", "evidence-notify"),
      projectRoot: dir,
      target: "aws",
      region: REGION,
      nag: false,
    });
    const t = readTemplate(synthesized.templatePath);
    const r = new TemplateResolver(t, new Map(), REGION);
    const ids = (type: string) => Object.keys(t.Resources).filter((id) => t.Resources[id]!.Type === type);
    const [ruleId, ...moreRules] = ids("AWS::Events::Rule");
    const [topicId, ...moreTopics] = ids("AWS::SNS::Topic");
    const [policyId, ...morePolicies] = ids("AWS::SNS::TopicPolicy");
    expect([moreRules, moreTopics, morePolicies]).toEqual([[], [], []]);
    const rule = t.Resources[ruleId!]!.Properties!;
    const topicArn = r.resolve({ Ref: topicId! }) as string;
    const ruleArn = r.resolve({ "Fn::GetAtt": [ruleId!, "Arn"] }) as string;
    // The rule publishes with no role: the topic policy is what allows it.
    const targets = rule.Targets as Array<{ Arn: unknown; RoleArn?: unknown }>;
    expect(targets.map((x) => [r.resolve(x.Arn), x.RoleArn])).toEqual([[topicArn, undefined]]);
    const topicPolicy = r.resolve(t.Resources[policyId!]!.Properties!.PolicyDocument) as PolicyDocument;
    const publish = (
      context: Record<string, string>,
      principal = "events.amazonaws.com",
      resource = topicArn,
    ) => evaluate([], { action: "sns:Publish", resource, principal, context, resourcePolicy: topicPolicy });
    const tls = { "aws:SecureTransport": "true" };
    expect(await publish({ ...tls, "aws:SourceArn": ruleArn, "aws:SourceAccount": ACCOUNT })).toBe("Allowed");
    const refused = {
      "another rule": await publish({ ...tls, "aws:SourceArn": ruleArn.replace(/\/[^/]+$/, "/other") }),
      "no source": await publish(tls),
      "without TLS": await publish({ "aws:SecureTransport": "false", "aws:SourceArn": ruleArn }),
      "another service": await publish({ ...tls, "aws:SourceArn": ruleArn }, "s3.amazonaws.com"),
      "a role of the account": await publish(
        { ...tls, "aws:SourceArn": ruleArn },
        `arn:aws:iam::${ACCOUNT}:role/anyone`,
      ),
    };
    expect(refused).toEqual({
      "another rule": "ImplicitlyDenied",
      "no source": "ImplicitlyDenied",
      "without TLS": "ExplicitlyDenied",
      "another service": "ImplicitlyDenied",
      "a role of the account": "ImplicitlyDenied",
    });
  });

  it("denies site a the other site's queue, dead-letter queue, manifest and secret, and signing", async () => {
    const a = policiesOf({ kind: "agent", site: "a" });
    const bCalls = recorded.filter((c) => c.kind === "agent" && c.site === "b");
    const bQueue = bCalls.find((c) => c.action === "sqs:ReceiveMessage")!.resource;
    const bDeadLetters = bCalls.find((c) => c.action === "sqs:SendMessage")!.resource;
    const bManifest = bCalls.find(
      (c) => c.action === "s3:GetObject" && c.resource.includes("ferry-assets-"),
    )!;
    const bSecret = bCalls.find((c) => c.action === "secretsmanager:GetSecretValue")!;
    const aParameter = recorded.find(
      (c) => c.kind === "agent" && c.site === "a" && c.action === "ssm:GetParameter",
    )!;
    expect(bSecret.resource).toContain(`:secret:${secretName}-`);
    expect(aParameter.resource).toContain(`:parameter${parameterName}`);
    // Site b's steps reference no parameter: a's is not b's to read, and b's secret is not a's.
    const b = policiesOf({ kind: "agent", site: "b" });
    expect(await evaluate(b, { action: "ssm:GetParameter", resource: aParameter.resource })).toBe(
      "ImplicitlyDenied",
    );
    const denied = [
      { action: "sqs:ReceiveMessage", resource: bQueue },
      { action: "sqs:DeleteMessage", resource: bQueue },
      { action: "sqs:ChangeMessageVisibility", resource: bQueue },
      { action: "sqs:SendMessage", resource: bDeadLetters },
      { action: "s3:GetObject", resource: bManifest.resource },
      { action: "secretsmanager:GetSecretValue", resource: bSecret.resource },
    ];
    for (const request of denied) {
      expect(`${request.action} ${request.resource}: ${await evaluate(a, request)}`).toBe(
        `${request.action} ${request.resource}: ImplicitlyDenied`,
      );
    }
    // A site may read the manifest signing key's public half, never sign with it.
    const key = recorded.find((c) => c.action === "kms:GetPublicKey")!.resource;
    const keyPolicy = keyPolicies(template, resolver).get(key)!;
    expect(await evaluate(a, { action: "kms:GetPublicKey", resource: key, resourcePolicy: keyPolicy })).toBe(
      "Allowed",
    );
    expect(await evaluate(a, { action: "kms:Sign", resource: key, resourcePolicy: keyPolicy })).toBe(
      "ImplicitlyDenied",
    );
    // Only a site with cached steps may use the cache index: b has none.
    const lookup = recorded.find((c) => c.kind === "agent" && c.action === "dynamodb:GetItem")!;
    expect(lookup.site).toBe("a");
    for (const action of ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]) {
      const request = { ...requestOf(lookup), action };
      expect(`${action}: ${await evaluate(b, request)}`).toBe(`${action}: ImplicitlyDenied`);
    }
    // Answering task tokens is the one right every site shares.
    expect(await evaluate(a, { action: "states:SendTaskSuccess", resource: "*" })).toBe("Allowed");
  });

  it("keeps each site's job files to itself: writes under its own site's keys, reads only upstream sites'", async () => {
    const a = policiesOf({ kind: "agent", site: "a" });
    const b = policiesOf({ kind: "agent", site: "b" });
    const tally = policiesOf({ kind: "function", step: "tally" });
    const puts = (site: string) =>
      recorded.filter((c) => c.kind === "agent" && c.site === site && c.action === "s3:PutObject");
    const dataFile = puts("a").find((c) => c.resource.endsWith("/data.txt"))!.resource;
    const bigOutput = puts("b").find((c) => c.resource.includes("/.ferry/outputs/big/"))!.resource;
    expect(dataFile).toContain(`/${deployed.workflow}/a/`);
    expect(bigOutput).toContain(`/${deployed.workflow}/b/`);
    const verdicts = async (policies: PolicyDocument[], action: string, resource: string) =>
      `${action} ${resource}: ${await evaluate(policies, { action, resource })}`;
    const denied = "ImplicitlyDenied";
    // Neither site may overwrite what the other wrote, even under a crafted name.
    expect(await verdicts(b, "s3:PutObject", dataFile)).toBe(`s3:PutObject ${dataFile}: ${denied}`);
    expect(await verdicts(a, "s3:PutObject", bigOutput)).toBe(`s3:PutObject ${bigOutput}: ${denied}`);
    const planted = dataFile.replace(`/${deployed.workflow}/a/`, `/${deployed.workflow}/b/a/`);
    expect(await verdicts(a, "s3:PutObject", planted)).toBe(`s3:PutObject ${planted}: ${denied}`);
    // tally depends on relay (site a) only: site b's keys are not its to read.
    expect(await verdicts(tally, "s3:GetObject", bigOutput)).toBe(`s3:GetObject ${bigOutput}: ${denied}`);
    // b reads a's data.txt and a reads b's large output: each depends on the other's step.
    expect(await verdicts(b, "s3:GetObject", dataFile)).toBe(`s3:GetObject ${dataFile}: Allowed`);
    expect(await verdicts(a, "s3:GetObject", bigOutput)).toBe(`s3:GetObject ${bigOutput}: Allowed`);
  });

  it("recorded every AWS SDK command that runtime code sends", () => {
    const used = runtimeSdkCommands();
    expect(used.size).toBeGreaterThan(10);
    const seen = new Set([...recorded, ...localStackOnly].map((c) => c.command));
    expect([...used].filter((command) => !seen.has(command)).sort()).toEqual([]);
  });
});

/** Folders (and files) of the parts that run with a site's or a function's credentials. */
const RUNTIME_SOURCES = ["edge-agent/src", "functions/src", "infra/src/deploy/sqs-function-queues.ts"];

/** `new XxxCommand(` in runtime sources, tests and test helpers left out. */
function runtimeSdkCommands(): Set<string> {
  const commands = new Set<string>();
  const scan = (path: string) => {
    const full = join(REPO_ROOT, path);
    if (path.endsWith(".ts")) {
      if (/\.test\.ts$|\/testing\//.test(path)) return;
      const text = readFileSync(full, "utf8");
      if (!text.includes("@aws-sdk/client-")) return;
      for (const m of text.matchAll(/new ([A-Z]\w+Command)\(/g)) commands.add(m[1]!);
      return;
    }
    for (const entry of readdirSync(full, { withFileTypes: true })) {
      if (entry.isDirectory() || entry.name.endsWith(".ts")) scan(`${path}/${entry.name}`);
    }
  };
  for (const path of RUNTIME_SOURCES) scan(path);
  return commands;
}
