import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve, sep } from "node:path";
import { CloudFormationClient, type StackEvent } from "@aws-sdk/client-cloudformation";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { CompiledWorkflow } from "@ferry/dsl-compiler";
import type { FerryTarget } from "../ferry-workflow.ts";
import { buildAgentImageLocally } from "../private/agent-image.ts";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import {
  type DeployStackOutcome,
  deleteStack,
  deployStack,
  TEMPLATE_BODY_MAX_BYTES,
} from "./cloudformation.ts";
import { DeployError } from "./deploy-error.ts";
import { readDeployment, type WorkflowDeployment } from "./deployment.ts";
import { adaptTemplateForLocalStack, type CfnTemplate } from "./localstack-template.ts";
import { publishAssets, resolvePlaceholders } from "./publish-assets.ts";
import { publishImages } from "./publish-images.ts";
import { type SignedSiteManifest, signSiteManifests } from "./sign-manifests.ts";
import { assetsBucketName, putStateIndex } from "./state-index-store.ts";

export interface DeployWorkflowOptions {
  compiled: CompiledWorkflow;
  projectRoot: string;
  target: FerryTarget;
  context: AwsContext;
  /** Cloud assembly directory. */
  outDir: string;
  /**
   * Which spec this deployment comes from (see {@link workflowOrigin}),
   * kept as the stack's `ferry:origin` tag. A stack of the same name from
   * another origin is refused (`NAME_TAKEN`) unless `takeOver` is set:
   * two workflows with one name must not overwrite each other's stack.
   */
  origin?: string;
  /** @default false */
  takeOver?: boolean;
  /** Progress lines (stack events, uploads). */
  log?: (line: string) => void;
  /** @default 1_800_000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DeployWorkflowResult {
  outcome: DeployStackOutcome;
  stackName: string;
  region: string;
  /** What the target left out or changed, one line each. */
  notes: string[];
  deployment: WorkflowDeployment;
  /** Each worker site's manifest as signed and published by this deploy. */
  manifests: SignedSiteManifest[];
  /** Durations in ms of each phase. */
  timings: { synthMs: number; publishMs: number; stackMs: number };
}

/**
 * Deploys one compiled workflow without the CDK CLI: synthesizes its stack,
 * adapts it for LocalStack when asked, uploads file assets (the trusted
 * manifest) to Ferry's staging bucket, creates or updates the stack through
 * CloudFormation, stores the state index for `ferry status`, reads back
 * the outputs, and signs each worker site's manifest with the stack's KMS
 * key (see {@link signSiteManifests}). Running it again updates the stack (a no-op when unchanged).
 */
export async function deployWorkflow(options: DeployWorkflowOptions): Promise<DeployWorkflowResult> {
  const { compiled, context } = options;
  const log = options.log ?? (() => undefined);
  const region = context.region;
  const started = Date.now();
  // The CDK loads here, on deploy, not with the module: destroy, status and the rest never need it.
  const { synthesizeStack } = await import("./synthesize-stack.ts");
  const synthesized = synthesizeStack(compiled, {
    outDir: options.outDir,
    projectRoot: options.projectRoot,
    target: options.target,
    region,
  });
  let template = JSON.parse(readFileSync(synthesized.templatePath, "utf8")) as CfnTemplate;
  const notes: string[] = [];
  if (options.target === "localstack") {
    const lambdaSteps = compiled.ir.steps.filter((s) => s.executor === "lambda").map((s) => s.name);
    const fargateQueues = compiled.ir.queues.filter((q) => q.executor === "fargate").map((q) => q.id);
    if (lambdaSteps.length > 0) {
      notes.push(
        `left out Lambda functions for ${lambdaSteps.join(", ")} (their queues stay): serve them with ferry functions serve`,
      );
    }
    if (fargateQueues.length > 0) {
      // LocalStack has no ECR or ECS: the agent image the pools would copy their agent from is built here instead.
      const tag = buildAgentImageLocally();
      notes.push(
        `left out Fargate pools for ${fargateQueues.join(", ")} (their queues stay): LocalStack cannot run ECS; the agent image they use is built locally as ${tag}`,
      );
    }
    const adapted = adaptTemplateForLocalStack(template, compiled.ir);
    template = adapted.template;
    notes.push(...adapted.notes);
  }
  if (options.origin) {
    // Also an output: outputs follow every update (LocalStack keeps a stack's first tags).
    template.Outputs = {
      ...template.Outputs,
      [ORIGIN_OUTPUT]: { Description: "the spec this workflow was deployed from", Value: options.origin },
    };
  }
  const synthMs = Date.now() - started;

  const accountId = await callerAccount(context);
  const placeholders = { accountId, region, partition: "aws" };
  const published = await publishAssets(synthesized.assets, context, placeholders);
  // Empty on LocalStack: the localstack target has no Fargate pools, so no image asset.
  for (const image of await publishImages(synthesized.images, context, placeholders)) {
    log(`${image.pushed ? "pushed" : "unchanged"} ${image.uri}`);
  }
  for (const asset of published) {
    log(`${asset.uploaded ? "uploaded" : "unchanged"} s3://${asset.bucket}/${asset.key}`);
  }
  const body = JSON.stringify(template);
  const templateSource =
    Buffer.byteLength(body) <= TEMPLATE_BODY_MAX_BYTES
      ? { body }
      : { url: await uploadTemplate(body, synthesized.stackName, context, placeholders) };
  const publishMs = Date.now() - started - synthMs;

  const cfn = new CloudFormationClient(clientConfig(context, region));
  let outcome: DeployStackOutcome;
  try {
    outcome = await deployStack(
      cfn,
      {
        stackName: synthesized.stackName,
        template: templateSource,
        ...(options.origin
          ? {
              tags: { [ORIGIN_TAG]: options.origin },
              checkExisting: (stack) => {
                const theirs =
                  stack.Outputs?.find((o) => o.OutputKey === ORIGIN_OUTPUT)?.OutputValue ??
                  stack.Tags?.find((t) => t.Key === ORIGIN_TAG)?.Value;
                if (options.takeOver || theirs === undefined || theirs === options.origin) return;
                throw new DeployError(
                  "NAME_TAKEN",
                  `stack ${synthesized.stackName} in ${region} already holds workflow "${compiled.ir.name}" deployed from ${theirs}; this spec (${options.origin}) would replace it. Give this workflow another name (name: ${compiled.ir.name}-2), destroy the other one, or pass --take-over to replace it`,
                );
              },
            }
          : {}),
      },
      {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        onEvent: (event) => log(formatEvent(event)),
      },
    );
  } finally {
    cfn.destroy();
  }
  const stackMs = Date.now() - started - synthMs - publishMs;

  const children = Object.fromEntries(
    compiled.childStateMachines.map((c) => [c.id, synthesized.machineNames[c.id]!]),
  );
  for (const machine of [...compiled.childStateMachines, compiled.stateMachine]) {
    await putStateIndex(
      context,
      { accountId, region, stateMachineName: synthesized.machineNames[machine.id]! },
      {
        v: 1,
        workflow: compiled.ir.name,
        machine: machine.id,
        states: machine.states,
        children,
        steps: compiled.ir.steps.map((s) => ({ name: s.name, site: s.site, depends: [...s.depends] })),
      },
    );
  }
  const deployment = await readDeployment(compiled.ir, context, { stackName: synthesized.stackName, region });
  // The key exists only once the stack does: manifests are signed after it, then published at a fixed key.
  const manifests = await signSiteManifests(compiled.manifest, deployment, context, { log });
  return {
    outcome,
    stackName: synthesized.stackName,
    region,
    notes,
    deployment,
    manifests,
    timings: { synthMs, publishMs, stackMs },
  };
}

/** Stack tag naming the spec a workflow's stack was deployed from. */
export const ORIGIN_TAG = "ferry:origin";
/** Stack output holding the same. */
export const ORIGIN_OUTPUT = "FerryOrigin";

/**
 * `<project folder>/<spec path in the project>`, e.g. `shop/examples/hello/workflow.yaml`:
 * the same on every checkout of one project, different for another project's
 * workflow that happens to share the name.
 */
export function workflowOrigin(projectRoot: string, specPath: string): string {
  const rel = relative(projectRoot, resolve(projectRoot, specPath)).split(sep).join("/");
  return `${basename(resolve(projectRoot))}/${rel}`.slice(0, 256);
}

/** Deletes the workflow's stack; false when there was none. */
export async function destroyWorkflow(
  stackName: string,
  context: AwsContext,
  options: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<boolean> {
  const cfn = new CloudFormationClient(clientConfig(context));
  try {
    return await deleteStack(cfn, stackName, {
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.log ? { onEvent: (e) => options.log!(formatEvent(e)) } : {}),
    });
  } finally {
    cfn.destroy();
  }
}

/** The account of the caller's credentials (LocalStack: 000000000000). */
export async function callerAccount(context: AwsContext): Promise<string> {
  const sts = new STSClient(clientConfig(context));
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Account!;
  } finally {
    sts.destroy();
  }
}

async function uploadTemplate(
  body: string,
  stackName: string,
  context: AwsContext,
  placeholders: { accountId: string; region: string; partition: string },
): Promise<string> {
  const key = `ferry/templates/${stackName}-${createHash("sha256").update(body).digest("hex").slice(0, 16)}.json`;
  const { ASSETS_BUCKET_PATTERN } = await import("./synthesize-stack.ts");
  const bucket = resolvePlaceholders(ASSETS_BUCKET_PATTERN, placeholders);
  const path = join(mkdtempSync(join(tmpdir(), "ferry-template-")), "template.json");
  writeFileSync(path, body);
  await publishAssets(
    [{ id: "template", path, packaging: "file", bucketName: bucket, objectKey: key }],
    context,
    placeholders,
  );
  const base = context.endpoint ?? `https://s3.${placeholders.region}.amazonaws.com`;
  return `${base.replace(/\/$/, "")}/${assetsBucketName(placeholders.accountId, placeholders.region)}/${key}`;
}

function formatEvent(event: StackEvent): string {
  const reason = event.ResourceStatusReason ? ` ${event.ResourceStatusReason}` : "";
  return `${event.ResourceStatus} ${event.LogicalResourceId} (${event.ResourceType})${reason}`;
}
