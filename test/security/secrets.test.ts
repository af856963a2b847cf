/**
 * Secrets, end to end on LocalStack. A SecureString parameter and a Secrets
 * Manager secret with unique values; a deployed workflow whose process step
 * receives both as env variables and prints them to stdout, whose HTTP step
 * sends one as a header to a server on the loopback (which checks it got
 * the real value), and whose last step prints them to stderr and fails.
 * Then every place Ferry writes to is searched for the values: the compiled
 * ASL and manifests, the synthesized templates, everything under the
 * project's folder (compile output, agent configs, work folders), the job
 * bucket, the agent's log output, `ferry start`'s output, the execution's
 * history (the run records) and its failure cause. None may hold them.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { compileSpecFile, siteManifest } from "@ferry/dsl-compiler";
import { synthesizeStack } from "@ferry/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, TEST_REGION } from "../support/env.ts";
import { tempProject } from "../support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "../support/localstack-ferry.ts";

const suffix = runSuffix();
const dir = tempProject();
const parameterName = `/ferry-test/${suffix}/api-key`;
const secretName = `ferry-test/${suffix}/service`;
const ssmValue = `ssm-value-${randomBytes(12).toString("hex")}`;
const smValue = `sm-value-${randomBytes(12).toString("hex")}`;
const values = [ssmValue, smValue];
const received: Array<string | undefined> = [];

let server: Server;
let port = 0;
let spec = "";
let deployed: Deployed | undefined;
let agent: FerryProcess | undefined;
let run: Awaited<ReturnType<typeof startAndWait>>;
const ssm = new SSMClient({ ...awsClientConfig(), region: TEST_REGION });
const sm = new SecretsManagerClient({ ...awsClientConfig(), region: TEST_REGION });

function workflowSpec(): string {
  const apiKey = { secret: `ssm:${parameterName}` };
  const token = { secret: `secretsmanager:${secretName}#token` };
  return JSON.stringify({
    version: "1.1",
    name: `secrets-${suffix}`,
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 60 },
    steps: [
      {
        name: "use",
        site: "lab",
        process: {
          env: { API_KEY: apiKey, TOKEN: token, PLAIN: "not-a-secret" },
          // Proves it got the real values (their digests), then prints them and outputs one.
          command: [
            "sh",
            "-c",
            'cat >/dev/null; echo "key=$API_KEY token=$TOKEN"; k=$(printf %s "$API_KEY" | sha256sum | cut -c1-64); t=$(printf %s "$TOKEN" | sha256sum | cut -c1-64); echo "{\\"k\\":\\"$k\\",\\"t\\":\\"$t\\",\\"echo\\":\\"$API_KEY\\"}"',
          ],
        },
      },
      {
        name: "call",
        depends: ["use"],
        site: "lab",
        http: {
          method: "POST",
          url: `http://127.0.0.1:${port}/hook`,
          headers: { "x-api-token": token, "x-plain": "plain" },
        },
      },
      {
        name: "leak",
        depends: ["call"],
        site: "lab",
        process: {
          env: { API_KEY: apiKey, TOKEN: token },
          command: ["sh", "-c", 'cat >/dev/null; echo "failing with $API_KEY and $TOKEN" >&2; exit 3'],
        },
      },
    ],
  });
}

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Every regular file under `root` (symbolic links not followed). */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile() && statSync(path).size < 64 * 1024 * 1024) out.push(path);
  }
  return out;
}

function leaks(what: string, text: string): string[] {
  return values
    .filter((v) => text.includes(v))
    .map((v) => `${what} holds ${v === ssmValue ? "the SSM value" : "the Secrets Manager value"}`);
}

beforeAll(async () => {
  await requireLocalStack(["ssm", "secretsmanager", "stepfunctions", "sqs", "s3", "cloudformation"]);
  server = createServer((req, res) => {
    received.push(req.headers["x-api-token"] as string | undefined);
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  await ssm.send(new PutParameterCommand({ Name: parameterName, Value: ssmValue, Type: "SecureString" }));
  await sm.send(
    new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify({ token: smValue }) }),
  );
  spec = writeSpec(dir, "secrets.json", workflowSpec());
  deployed = await deploySpec(dir, spec);
  agent = await startAgent(dir, deployed.agentConfigs.lab!);
  run = await startAndWait(dir, spec, { timeoutSeconds: 120 });
  await agent.stop("SIGTERM");
}, 600_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  if (deployed) await destroySpec(dir, spec);
  await ssm.send(new DeleteParameterCommand({ Name: parameterName })).catch(() => undefined);
  await sm
    .send(new DeleteSecretCommand({ SecretId: secretName, ForceDeleteWithoutRecovery: true }))
    .catch(() => undefined);
  ssm.destroy();
  sm.destroy();
  await new Promise((r) => server?.close(r));
}, 300_000);

describe("secrets (hostile: values must stay out of everything Ferry writes)", () => {
  it("gives the steps the real values: env variables and the HTTP header", async () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).not.toBe(0);
    expect(received).toEqual([smValue]);
    const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: run.executionArn, maxResults: 1000 }),
    );
    sfn.destroy();
    const output = history.events!.flatMap((e) => {
      const out = e.taskSucceededEventDetails?.output;
      return out?.includes('"k"') ? [JSON.parse(out) as { k: string; t: string; echo: string }] : [];
    })[0]!;
    expect(output).toEqual({ k: sha(ssmValue), t: sha(smValue), echo: "***" });
  });

  it("fails the last step with its stderr in the cause, the values replaced by ***", async () => {
    const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn }));
    sfn.destroy();
    expect(described.status).toBe("FAILED");
    expect(described.cause).toContain("failing with *** and ***");
    expect(leaks("the failure cause", `${described.error} ${described.cause}`)).toEqual([]);
  });

  it("keeps the values out of the compiled ASL, the manifests and the templates", async () => {
    const { compiled } = await compileSpecFile(spec);
    const text = JSON.stringify({
      asl: [compiled!.stateMachine, ...compiled!.childStateMachines],
      manifest: compiled!.manifest,
      site: siteManifest(compiled!.manifest, "lab"),
      ir: compiled!.ir,
    });
    expect(text).toContain(`ssm:${parameterName}`);
    expect(leaks("the compiled workflow", text)).toEqual([]);
    const aws = synthesizeStack(compiled!, {
      outDir: join(dir, ".ferry", "secrets-aws"),
      projectRoot: dir,
      target: "aws",
      region: TEST_REGION,
      nag: false,
    });
    expect(leaks("the aws template", readFileSync(aws.templatePath, "utf8"))).toEqual([]);
  });

  it("writes them to no file of the project: compile output, localstack template, agent configs, work folders", () => {
    const found = filesUnder(dir).flatMap((file) => leaks(file, readFileSync(file, "latin1")));
    expect(found).toEqual([]);
  });

  it("keeps them out of the job bucket, the agent's logs, ferry start's output and the execution history", async () => {
    const found: string[] = [];
    const s3 = new S3Client({ ...awsClientConfig(), region: TEST_REGION, forcePathStyle: true });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: deployed!.deployment.jobBucket }));
    for (const object of listed.Contents ?? []) {
      const body = await s3.send(
        new GetObjectCommand({ Bucket: deployed!.deployment.jobBucket, Key: object.Key! }),
      );
      found.push(...leaks(`s3 ${object.Key}`, await body.Body!.transformToString()));
    }
    s3.destroy();
    found.push(...leaks("the agent's output", agent!.stdout + agent!.stderr));
    found.push(...leaks("ferry start's output", run.stdout + run.stderr));
    const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: run.executionArn, maxResults: 1000 }),
    );
    sfn.destroy();
    found.push(...leaks("the execution history", JSON.stringify(history.events)));
    expect(found).toEqual([]);
    // The agent did log the failure (redacted): the test looked at real log lines.
    expect(agent!.stdout).toContain("step attempt failed");
  });
});
