import { sitesReadBy, type WorkflowIr } from "@ferry/dsl-compiler";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { cacheTableStatement } from "./cache-table.ts";
import {
  acknowledgeJobFiles,
  acknowledgeTaskResponse,
  type JobFileAccess,
  jobFileStatements,
  secretReadStatements,
  taskResponseStatement,
} from "./grants.ts";
import type { PublishedManifest } from "./manifest.ts";
import type { StepQueue } from "./step-queues.ts";

export interface WorkerPolicyOptions {
  workflow: string;
  ir: WorkflowIr;
  queues: Map<string, StepQueue>;
  bucket: s3.IBucket;
  stateMachineArns: string[];
  manifest: PublishedManifest;
  /** The step cache index, when a step caches. */
  cacheTable?: dynamodb.ITable;
}

/**
 * One customer-managed policy per worker queue (an edge site's agents, a
 * Fargate pool): receive, delete and extend its own queue only, move poison
 * messages to its own dead-letter queue, answer task tokens (the token is the
 * capability), read and write its job files, read its site's manifest and the
 * deployment parameter, and fetch the public key manifests are signed
 * with. Attach it to the agents' role (IAM Roles
 * Anywhere, an instance profile, …).
 */
export function createWorkerPolicies(
  scope: Construct,
  options: WorkerPolicyOptions,
): Map<string, iam.ManagedPolicy> {
  const policies = new Map<string, iam.ManagedPolicy>();
  const workerQueues = [...options.queues.values()].filter(
    (q) => q.ir.executor === "agent" || q.ir.executor === "fargate",
  );
  if (workerQueues.length === 0) return policies;
  const root = new Construct(scope, "WorkerPolicies");
  const access = (queue: StepQueue["ir"]): JobFileAccess => ({
    workflow: options.workflow,
    site: queue.site,
    readSites: sitesReadBy(options.ir, queue.steps),
  });
  for (const { ir, queue, deadLetterQueue } of workerQueues) {
    const who =
      ir.executor === "agent" ? `agents of edge site ${ir.site}` : `Fargate workers on site ${ir.site}`;
    const policy = new iam.ManagedPolicy(root, ir.id, {
      description: `Ferry ${options.workflow}: what the ${who} may do`,
      statements: [
        new iam.PolicyStatement({
          sid: "OwnQueue",
          actions: [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
          ],
          resources: [queue.queueArn],
        }),
        new iam.PolicyStatement({
          // Poison messages (unknown step, bad schema) are moved here by the worker itself.
          sid: "OwnDeadLetterQueue",
          actions: ["sqs:SendMessage", "sqs:GetQueueUrl"],
          resources: [deadLetterQueue.queueArn],
        }),
        taskResponseStatement(),
        ...jobFileStatements(options.bucket, access(ir)),
        ...(options.cacheTable &&
        ir.steps.some((name) => options.ir.steps.find((s) => s.name === name)?.cache.enabled)
          ? [cacheTableStatement(options.cacheTable)]
          : []),
        new iam.PolicyStatement({
          sid: "ReadManifest",
          actions: ["s3:GetObject"],
          // Its own site's manifest only: another site's holds that site's env and HTTP headers.
          resources: [
            siteManifestArn(options.manifest, ir.site),
            options.manifest.sites.get(ir.site)!.signedObjectArn,
          ],
        }),
        new iam.PolicyStatement({
          // The public key only: agents verify manifest signatures locally; only the deployer may sign.
          sid: "ReadManifestSigningKey",
          actions: ["kms:GetPublicKey"],
          resources: [options.manifest.signingKey.keyArn],
        }),
        new iam.PolicyStatement({
          sid: "ReadDeployment",
          actions: ["ssm:GetParameter"],
          resources: [options.manifest.parameter.parameterArn],
        }),
        // The parameters and secrets this queue's own steps reference; another site's are not readable.
        ...secretReadStatements(
          scope,
          options.ir.steps.filter((s) => ir.steps.includes(s.name)),
        ),
      ],
    });
    acknowledgeJobFiles(policy, options.bucket, access(ir));
    acknowledgeTaskResponse(policy);
    policies.set(ir.id, policy);
  }
  return policies;
}

function siteManifestArn(manifest: PublishedManifest, site: string): string {
  const { asset } = manifest.sites.get(site)!;
  return asset.bucket.arnForObjects(asset.s3ObjectKey);
}
