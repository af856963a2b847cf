import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { IrQueue, WorkflowIr } from "@ferry/dsl-compiler";
import { pascalCase, UniqueNames } from "../private/names.ts";
import { stackNameFor } from "../stack-name.ts";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import { describeStack } from "./cloudformation.ts";
import { DeployError } from "./deploy-error.ts";

/** Output key prefix: `FerryWorkflowStack` names its construct `Workflow`. */
const OUTPUT_PREFIX = "Workflow";

/** One step queue of a deployed workflow. */
export interface DeployedQueue {
  id: string;
  url: string;
  /** Where SQS moves a message after `maxReceiveCount` receives. */
  deadLetterUrl?: string;
  site: string;
  executor: IrQueue["executor"];
  steps: string[];
  /** The site's own manifest, for the workers of agent and Fargate queues. */
  manifestS3Uri?: string;
  /** The same manifest as `ferry deploy` signed it, at a key that stays the same across deploys. */
  signedManifestS3Uri?: string;
}

/** Everything a runner of a deployed workflow needs, read from its stack's outputs. */
export interface WorkflowDeployment {
  workflow: string;
  stackName: string;
  region: string;
  stateMachineArn: string;
  jobBucket: string;
  manifestS3Uri: string;
  deploymentParameterName: string;
  /** The KMS key site manifests are signed with (absent on stacks deployed before manifests were signed). */
  manifestSigningKeyArn?: string;
  /** The step cache index table (absent when no step caches). */
  cacheTable?: string;
  /** By queue id (`site-lab`, `fn-summarize`, …). */
  queues: Record<string, DeployedQueue>;
  outputs: Record<string, string>;
}

/** The output key of each queue's URL, as `createOutputs` names them. */
export function queueOutputKeys(ir: WorkflowIr): Map<string, string> {
  const names = new UniqueNames();
  for (const key of ["StateMachineArn", "JobBucketName", "ManifestS3Uri", "DeploymentParameterName"]) {
    names.take(`${OUTPUT_PREFIX}${key}`);
  }
  return new Map(ir.queues.map((q) => [q.id, names.take(`${OUTPUT_PREFIX}QueueUrl${pascalCase(q.id)}`)]));
}

/** Reads the stack of a deployed workflow; throws `STACK_NOT_FOUND` with the fix when it is not deployed. */
export async function readDeployment(
  ir: WorkflowIr,
  context: AwsContext,
  options: { stackName?: string; region?: string; deadLetterQueues?: boolean } = {},
): Promise<WorkflowDeployment> {
  const stackName = options.stackName ?? stackNameFor(ir.name);
  const region = options.region ?? context.region;
  const outputs = await readStackOutputs(stackName, context, region);
  const output = (key: string): string => {
    const value = outputs[key];
    if (value === undefined) {
      throw new DeployError(
        "OUTPUT_MISSING",
        `stack ${stackName}: output ${key} is missing (outputs: ${Object.keys(outputs).join(", ") || "none"}); re-deploy the workflow with this version of Ferry`,
      );
    }
    return value;
  };
  const keys = queueOutputKeys(ir);
  const queues: Record<string, DeployedQueue> = {};
  for (const q of ir.queues) {
    queues[q.id] = {
      id: q.id,
      url: output(keys.get(q.id)!),
      site: q.site,
      executor: q.executor,
      steps: q.steps,
      ...(q.executor === "lambda"
        ? {}
        : {
            manifestS3Uri: output(`${OUTPUT_PREFIX}SiteManifestS3Uri${pascalCase(q.site)}`),
            ...optional(
              "signedManifestS3Uri",
              outputs[`${OUTPUT_PREFIX}SignedSiteManifestS3Uri${pascalCase(q.site)}`],
            ),
          }),
    };
  }
  if (options.deadLetterQueues ?? true) await addDeadLetterUrls(Object.values(queues), context, region);
  return {
    workflow: ir.name,
    stackName,
    region,
    stateMachineArn: output(`${OUTPUT_PREFIX}StateMachineArn`),
    jobBucket: output(`${OUTPUT_PREFIX}JobBucketName`),
    manifestS3Uri: output(`${OUTPUT_PREFIX}ManifestS3Uri`),
    deploymentParameterName: output(`${OUTPUT_PREFIX}DeploymentParameterName`),
    ...optional("manifestSigningKeyArn", outputs[`${OUTPUT_PREFIX}ManifestSigningKeyArn`]),
    ...optional("cacheTable", outputs[`${OUTPUT_PREFIX}CacheTableName`]),
    queues,
    outputs,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/**
 * The outputs of a deployed stack; throws `STACK_NOT_FOUND` with the fix
 * when the stack does not exist or its last deploy failed.
 */
export async function readStackOutputs(
  stackName: string,
  context: AwsContext,
  region: string = context.region,
): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient(clientConfig(context, region));
  try {
    const stack = await describeStack(cfn, stackName);
    const status = stack?.StackStatus ?? "not deployed";
    if (!/^(CREATE|UPDATE|UPDATE_ROLLBACK|IMPORT)_COMPLETE$/.test(status)) {
      throw new DeployError(
        "STACK_NOT_FOUND",
        `stack ${stackName} in ${region}${context.endpoint ? ` at ${context.endpoint}` : ""} is ${status}; run ferry deploy first`,
      );
    }
    return Object.fromEntries(
      (stack!.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  } finally {
    cfn.destroy();
  }
}

/** The job bucket and (when a step caches) the step cache table of a deployed workflow's stack. */
export async function readStepCacheLocation(
  stackName: string,
  context: AwsContext,
): Promise<{ bucket: string; table?: string }> {
  const outputs = await readStackOutputs(stackName, context);
  const bucket = outputs[`${OUTPUT_PREFIX}JobBucketName`];
  if (!bucket) {
    throw new DeployError(
      "OUTPUT_MISSING",
      `stack ${stackName}: output ${OUTPUT_PREFIX}JobBucketName is missing; is it a Ferry workflow stack?`,
    );
  }
  const table = outputs[`${OUTPUT_PREFIX}CacheTableName`];
  return table ? { bucket, table } : { bucket };
}

/** The root state machine ARN of a deployed workflow's stack. */
export async function readStateMachineArn(stackName: string, context: AwsContext): Promise<string> {
  const outputs = await readStackOutputs(stackName, context);
  const arn = outputs[`${OUTPUT_PREFIX}StateMachineArn`];
  if (!arn) {
    throw new DeployError(
      "OUTPUT_MISSING",
      `stack ${stackName}: output ${OUTPUT_PREFIX}StateMachineArn is missing; is it a Ferry workflow stack?`,
    );
  }
  return arn;
}

/** The job-files bucket of a deployed workflow's stack (where attempt logs live too). */
export async function readJobBucket(workflow: string, context: AwsContext, region?: string): Promise<string> {
  const stackName = stackNameFor(workflow);
  const bucket = (await readStackOutputs(stackName, context, region))[`${OUTPUT_PREFIX}JobBucketName`];
  if (!bucket) {
    throw new DeployError(
      "OUTPUT_MISSING",
      `stack ${stackName}: output ${OUTPUT_PREFIX}JobBucketName is missing; is it a Ferry workflow stack?`,
    );
  }
  return bucket;
}

/** Finds each queue's dead-letter queue through its redrive policy. */
async function addDeadLetterUrls(
  queues: DeployedQueue[],
  context: AwsContext,
  region: string,
): Promise<void> {
  const sqs = new SQSClient(clientConfig(context, region));
  try {
    for (const queue of queues) {
      const attributes = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ["RedrivePolicy"] }),
      );
      const policy = attributes.Attributes?.RedrivePolicy;
      if (!policy) continue;
      const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
      const [, , , , account, name] = arn?.split(":") ?? [];
      if (!name) continue;
      const out = await sqs.send(
        new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
      );
      if (out.QueueUrl) queue.deadLetterUrl = out.QueueUrl;
    }
  } finally {
    sqs.destroy();
  }
}
