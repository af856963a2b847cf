/**
 * Manifest swap, against a real deploy on LocalStack and a real `ferry
 * agent`: whoever can write the signed manifest object replaces it with one
 * whose command is changed (old signature kept, hashes recomputed), one
 * signed by another KMS key, and one with no signature at all. Each time a
 * message naming a step only the swapped manifest has is dead-lettered with
 * the reason, the agent logs why the manifest was refused, nothing of the
 * swapped manifest runs, and the legitimate manifest keeps working.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand, SignCommand } from "@aws-sdk/client-kms";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import {
  executionPrefix,
  type Manifest,
  manifestHash,
  manifestSigningPayload,
  type SignedManifest,
  signedManifest,
  stepHash,
} from "@ferry/dsl-compiler/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepMessage } from "../../edge-agent/src/testing/fixtures.ts";
import { awsClientConfig, requireLocalStack } from "../support/env.ts";
import { eventually } from "../support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "../support/localstack-ferry.ts";

const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const marker = join(dir, "swapped-manifest-ran");
const workflow = `swap-${suffix}`;
const spec = writeSpec(
  dir,
  "swap.json",
  JSON.stringify({
    name: workflow,
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 60 },
    steps: [{ name: "greet", site: "lab", process: { command: ["sh", "-c", 'echo \'{"greeting":"hi"}\''] } }],
  }),
);

const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
const sqs = new SQSClient(awsClientConfig());
const kms = new KMSClient(awsClientConfig());
let deployed: Deployed;
let agent: FerryProcess;
let bucket: string;
let key: string;
let legitimate: string;
let foreignKey: string | undefined;

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  const config = JSON.parse(readFileSync(deployed.agentConfigs.lab!, "utf8")) as {
    manifests: string[];
    manifestSigningKey?: string;
  };
  expect(config.manifestSigningKey).toMatch(/^arn:aws:kms:/);
  [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(config.manifests[0]!)! as unknown as [
    string,
    string,
    string,
  ];
  legitimate = await (
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  ).Body!.transformToString();
  // Reload on every unknown step, so each swap is looked at at once.
  agent = await startAgent(dir, deployed.agentConfigs.lab!, {
    extraArgs: ["--manifest-reload-interval-seconds", "0"],
  });
}, 300_000);

afterAll(async () => {
  await agent?.stop("SIGTERM");
  if (foreignKey)
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: foreignKey, PendingWindowInDays: 7 }));
  await destroySpec(dir, spec);
  s3.destroy();
  sqs.destroy();
  kms.destroy();
}, 300_000);

/** The attacker's manifest: `greet` changed and a new step `evil`, both writing the marker, with every hash recomputed. */
function swappedManifest(): Manifest {
  const manifest = structuredClone((JSON.parse(legitimate) as SignedManifest).manifest);
  const command = ["sh", "-c", `touch '${marker}'; echo '{}'`];
  const greet = manifest.steps.greet!;
  manifest.steps.evil = { ...structuredClone(greet), name: "evil" };
  for (const step of Object.values(manifest.steps)) {
    (step.runtime as { command: string[] }).command = command;
    const { hash: _old, ...definition } = step;
    step.hash = stepHash(definition);
  }
  manifest.hash = manifestHash(manifest.steps);
  return manifest;
}

async function put(body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

/** Sends a message naming `evil`; returns the reason the agent dead-lettered it with. */
async function sendEvil(): Promise<string> {
  const queue = deployed.deployment.queues["site-lab"]!;
  const message = stepMessage({
    workflow,
    step: "evil",
    execution: "exec-swap",
    jobFiles: { bucket: deployed.deployment.jobBucket, prefix: executionPrefix(workflow, "exec-swap") },
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(message) }));
  return eventually(
    async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.deadLetterUrl!,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const m of out.Messages ?? []) {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queue.deadLetterUrl!, ReceiptHandle: m.ReceiptHandle! }),
        );
        if ((JSON.parse(m.Body!) as { token?: string }).token === message.token) {
          return m.MessageAttributes?.FerryReason?.StringValue ?? "(no reason)";
        }
      }
      return undefined;
    },
    "the message naming the swapped manifest's step to be dead-lettered",
    60_000,
  );
}

function refusalsLogged(): string[] {
  return agent
    .logLines()
    .filter((l) => typeof l.msg === "string" && /^manifest s3:\/\/.* refused: /.test(l.msg))
    .map((l) => l.msg as string);
}

describe("manifest swap", () => {
  it("runs the legitimate signed manifest", async () => {
    const result = await startAndWait(dir, spec, { timeoutSeconds: 120 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual({ greet: { greeting: "hi" } });
  });

  it("refuses a manifest whose command was changed under the old signature", async () => {
    const envelope = JSON.parse(legitimate) as SignedManifest;
    envelope.manifest = swappedManifest();
    await put(envelope);
    const reason = await sendEvil();
    expect(reason).toMatch(/unknown step "evil"/);
    expect(reason).toMatch(/refused: signature does not verify with the trusted key/);
    expect(refusalsLogged().at(-1)).toMatch(
      /signature does not verify.*the manifests loaded before stay in use/,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses a manifest signed by another KMS key", async () => {
    const created = await kms.send(
      new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", Description: "not Ferry's" }),
    );
    foreignKey = created.KeyMetadata!.Arn!;
    const manifest = swappedManifest();
    const signedAt = new Date().toISOString();
    const out = await kms.send(
      new SignCommand({
        KeyId: foreignKey,
        Message: manifestSigningPayload(manifest, signedAt),
        MessageType: "RAW",
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
    await put(signedManifest(manifest, { keyId: foreignKey, signedAt, der: out.Signature! }));
    const reason = await sendEvil();
    expect(reason).toContain(`the envelope names ${foreignKey}`);
    expect(refusalsLogged().at(-1)).toMatch(/signed by another key/);
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses a manifest with the signature removed", async () => {
    await put(swappedManifest());
    const reason = await sendEvil();
    expect(reason).toMatch(/refused: unsigned — this agent trusts only manifests signed by arn:aws:kms:/);
    expect(refusalsLogged().at(-1)).toMatch(/unsigned/);
    expect(existsSync(marker)).toBe(false);
  });

  it("keeps running the legitimate manifest while the object is swapped, and after it is put back", async () => {
    const swapped = await startAndWait(dir, spec, { timeoutSeconds: 120 });
    expect(swapped.code, `${swapped.stdout}\n${swapped.stderr}`).toBe(0);
    expect(JSON.parse(swapped.stdout.trim().split("\n").at(-1)!)).toEqual({ greet: { greeting: "hi" } });
    expect(existsSync(marker)).toBe(false);
    await put(legitimate);
    const restored = await startAndWait(dir, spec, { timeoutSeconds: 120 });
    expect(restored.code, `${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(agent.child.exitCode).toBeNull();
  });
});
