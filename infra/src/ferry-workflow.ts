import type { CompiledWorkflow } from "@ferry/dsl-compiler";
import { formatWorkerEnv } from "@ferry/dsl-compiler/contract";
import { CfnOutput, CfnResource, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type * as events from "aws-cdk-lib/aws-events";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { InfraError } from "./errors.ts";
import { AGENT_WORK_DIR } from "./private/agent-image.ts";
import { createAlarms } from "./private/alarms.ts";
import { createCacheTable } from "./private/cache-table.ts";
import { createFargatePools } from "./private/fargate-pools.ts";
import { createHttpConnections } from "./private/http-connections.ts";
import { createJobBucket } from "./private/job-bucket.ts";
import { createJoinTable } from "./private/join-table.ts";
import { createLambdaSteps } from "./private/lambda-steps.ts";
import { type PublishedManifest, publishManifest } from "./private/manifest.ts";
import { pascalCase, stateMachineName } from "./private/names.ts";
import { createNotify } from "./private/notify.ts";
import { createOutputs } from "./private/outputs.ts";
import { createStateMachines, stateMachineArn } from "./private/state-machines.ts";
import { createStepQueues, type StepQueue } from "./private/step-queues.ts";
import { createTriggers } from "./private/triggers.ts";
import { createWorkerPolicies } from "./private/worker-policies.ts";

/**
 * Where the stack is deployed. `localstack` leaves out what LocalStack's
 * community edition cannot run — Lambda functions (and their event source
 * mappings) and Fargate pools — while keeping their queues, so a local
 * function host and local workers poll the same queues; definitions stay
 * inline and resources are destroyed with the stack.
 */
export type FerryTarget = "aws" | "localstack";

export interface FerryFargateOptions {
  /**
   * VPC for the worker pools; with your own VPC, workers run in its
   * private subnets with egress.
   * @default a VPC with public subnets in two AZs and no NAT gateway; workers get public IPs and accept no inbound traffic
   */
  vpc?: ec2.IVpc;
  /**
   * Image Ferry's agent is copied from into every task (its `/ferry`
   * volume): the self-contained agent with its loader and libraries. Each
   * pool's tasks run the steps' own image with that agent as entry point.
   * @default an image asset built from this Ferry's agent (`FROM scratch`), pushed to ECR by `cdk deploy` / `ferry deploy`
   */
  agentImage?: ecs.ContainerImage;
  /** @default 10 */
  maxWorkers?: number;
  /**
   * Steps one task runs at a time; scaling uses it to turn backlog into tasks.
   * With 1, steps also find their job folder at `/ferry/job`; with more,
   * only through `$FERRY_JOB_DIR`.
   * @default 1
   */
  tasksPerWorker?: number;
}

export interface FerryWorkflowProps {
  /** The compiler's output for one workflow (`compileSpec`). */
  compiled: CompiledWorkflow;
  /** Directory function handler paths (`functions/…/load.ts#handler`) are relative to. */
  projectRoot: string;
  /** @default "aws" */
  target?: FerryTarget;
  /** @default 30 days */
  jobFilesExpiryDays?: number;
  /**
   * What happens to the job-files bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN on AWS, RemovalPolicy.DESTROY on LocalStack
   */
  removalPolicy?: RemovalPolicy;
  /**
   * Receives of a message without a delete before it moves to the dead-letter queue.
   * @default 5
   */
  maxReceiveCount?: number;
  /**
   * Visibility timeout of worker queues (agents, Fargate); workers extend it while a step runs.
   * @default Duration.minutes(2)
   */
  workerVisibilityTimeout?: Duration;
  /**
   * Messages per Lambda invocation; 1 gives every step message its own invocation.
   * @default 1
   */
  lambdaBatchSize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  logRetention?: logs.RetentionDays;
  /** @default sfn.LogLevel.ALL */
  logLevel?: sfn.LogLevel;
  /**
   * Whether state machine logs include step inputs and outputs (which may hold data you would rather not log).
   * @default false
   */
  includeExecutionData?: boolean;
  /** @default true */
  tracing?: boolean;
  /** @default no alarm actions */
  alarmTopic?: sns.ITopic;
  /**
   * EventBridge connection authorization per HTTP step name.
   * @default an API-key connection sending `X-Ferry-Workflow: <workflow>`, no credential
   */
  httpAuthorizations?: Record<string, events.Authorization>;
  /** @default see `FerryFargateOptions` */
  fargate?: FerryFargateOptions;
  /**
   * State machine definitions larger than this are deployed from S3 (`DefinitionS3Location`) rather than inline, to keep the template under CloudFormation's 1 MB.
   * @default 100,000 bytes on AWS; always inline on LocalStack
   */
  inlineDefinitionMaxBytes?: number;
}

/** CloudFormation's per-stack limits. */
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;

/**
 * Deploys one compiled Ferry workflow: step queues with dead-letter queues,
 * the job-files bucket, the join table when the DAG needs one, Lambda
 * functions for cloud function steps, Fargate worker pools for cloud
 * container and process steps, EventBridge connections for HTTP steps, the
 * state machines (children first, then the root), one managed policy per
 * worker queue, the published manifest, alarms, EventBridge rules for the
 * spec's triggers and outputs.
 *
 * @example
 * const { compiled } = compileSpec(readFileSync("workflow.yaml", "utf8"));
 * new FerryWorkflow(stack, "Workflow", { compiled: compiled!, projectRoot: process.cwd() });
 */
export class FerryWorkflow extends Construct {
  readonly jobBucket: s3.Bucket;
  readonly joinTable?: dynamodb.Table;
  /** The step cache index (entries' files are in each site's cache segment of the bucket); absent when no step caches. */
  readonly cacheTable?: dynamodb.Table;
  private readonly cachedSteps: Set<string>;
  /** Step queues by queue id (`site-lab`, `fn-load`, `fargate-cloud-python-3-12-1a2b3c`). */
  readonly queues: Record<string, { queue: sqs.Queue; deadLetterQueue: sqs.Queue }>;
  /** Lambda functions by step name; none on LocalStack. */
  readonly functions: Record<string, lambda.Function>;
  /** Fargate worker services by queue id; none on LocalStack. */
  readonly fargateServices: Record<string, ecs.FargateService>;
  readonly stateMachine: sfn.StateMachine;
  /** Child state machines by id (`child-1`, …). */
  readonly childStateMachines: Record<string, sfn.StateMachine>;
  /** Managed policy per worker queue id (edge sites' agents and Fargate pools). */
  readonly workerPolicies: Record<string, iam.ManagedPolicy>;
  /** Managed policy per edge site name, for its agents. */
  readonly edgeSitePolicies: Record<string, iam.ManagedPolicy>;
  readonly manifest: PublishedManifest;
  readonly alarms: cloudwatch.Alarm[];
  /** EventBridge rules by trigger name (the spec's `triggers:`). */
  readonly triggerRules: Record<string, events.CfnRule>;
  /** The role the trigger rules start executions with; absent without triggers. */
  readonly triggerRole?: iam.Role;
  /** The rule announcing finished executions (the spec's `notify:`); absent without it. */
  readonly notifyRule?: events.CfnRule;
  /** The SNS topic the stack created for `notify: { sns: { create: true } }`. */
  readonly notifyTopic?: sns.Topic;
  /** The function that signs and posts `notify: { http }` callbacks. */
  readonly notifyFunction?: lambda.Function;

  constructor(scope: Construct, id: string, props: FerryWorkflowProps) {
    super(scope, id);
    const { compiled } = props;
    const ir = compiled.ir;
    const target = props.target ?? "aws";
    const local = target === "localstack";
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.checkProps(props);

    this.jobBucket = createJobBucket(this, {
      expiryDays: props.jobFilesExpiryDays ?? 30,
      removalPolicy: props.removalPolicy ?? (local ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN),
    });
    const queues = createStepQueues(this, ir, {
      maxReceiveCount: props.maxReceiveCount ?? 5,
      workerVisibilityTimeout: props.workerVisibilityTimeout ?? Duration.minutes(2),
    });
    this.joinTable = compiled.substitutions.joinTable ? createJoinTable(this) : undefined;
    this.cachedSteps = new Set(ir.steps.filter((s) => s.cache.enabled).map((s) => s.name));
    this.cacheTable =
      this.cachedSteps.size > 0
        ? createCacheTable(
            this,
            props.removalPolicy ?? (local ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN),
          )
        : undefined;
    const connections = createHttpConnections(this, ir, props.httpAuthorizations ?? {});

    const machineIds = [...compiled.childStateMachines.map((c) => c.id), compiled.stateMachine.id];
    const names = new Map(
      machineIds.map((machineId) => [machineId, stateMachineName(ir.name, machineId, this.node.addr)]),
    );
    const machineArns = [...names.values()].map((name) => stateMachineArn(this, name));

    const workerSites = [...queues.values()]
      .filter((q) => q.ir.executor === "agent" || q.ir.executor === "fargate")
      .map((q) => q.ir.site);
    const removalPolicy = props.removalPolicy ?? (local ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);
    this.manifest = publishManifest(this, compiled, workerSites, removalPolicy, (manifest) => ({
      v: 1,
      workflow: ir.name,
      manifest: { s3Uri: manifest.s3Uri, sha256: manifest.sha256, hash: compiled.manifest.hash },
      manifestSigningKey: manifest.signingKey.keyArn,
      siteManifests: Object.fromEntries(
        [...manifest.sites].map(([site, m]) => [
          site,
          { s3Uri: m.s3Uri, sha256: m.sha256, hash: m.hash, signedS3Uri: m.signedS3Uri },
        ]),
      ),
      jobBucket: this.jobBucket.bucketName,
      ...(this.cacheTable ? { cacheTable: this.cacheTable.tableName } : {}),
      jobFilesPrefix: `${ir.name}/`,
      stateMachineArn: machineArns.at(-1)!,
      queues: Object.fromEntries(
        [...queues.values()]
          .filter((q) => q.ir.executor !== "lambda")
          .map((q) => [q.ir.id, { url: q.queue.queueUrl, site: q.ir.site, executor: q.ir.executor }]),
      ),
    }));
    const workerPolicies = createWorkerPolicies(this, {
      workflow: ir.name,
      ir,
      queues,
      bucket: this.jobBucket,
      stateMachineArns: machineArns,
      manifest: this.manifest,
      ...(this.cacheTable ? { cacheTable: this.cacheTable } : {}),
    });

    const functions = local
      ? new Map<string, lambda.Function>()
      : createLambdaSteps(this, ir, {
          projectRoot: props.projectRoot,
          queues,
          bucket: this.jobBucket,
          stateMachineArns: machineArns,
          logRetention,
          batchSize: props.lambdaBatchSize ?? 1,
          manifest: compiled.manifest,
          ...(this.cacheTable ? { cacheTable: this.cacheTable } : {}),
        });
    const services = local
      ? new Map<string, ecs.FargateService>()
      : createFargatePools(this, ir, queues, {
          ...(props.fargate?.vpc ? { vpc: props.fargate.vpc } : {}),
          ...(props.fargate?.agentImage ? { agentImage: props.fargate.agentImage } : {}),
          maxWorkers: props.fargate?.maxWorkers ?? 10,
          tasksPerWorker: props.fargate?.tasksPerWorker ?? 1,
          logRetention,
          policies: workerPolicies,
          environment: (queue, image) =>
            this.workerEnvironment(queue, image, props.fargate?.tasksPerWorker ?? 1),
        });

    const logGroup = new logs.LogGroup(this, "ExecutionLogs", {
      // The vended-logs prefix keeps CloudWatch Logs' resource policy from growing with every state machine.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${ir.name}-${this.node.addr.slice(0, 8)}`,
      retention: logRetention,
      removalPolicy: local ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const machines = createStateMachines(
      this,
      compiled,
      {
        bucket: this.jobBucket,
        ...(this.joinTable ? { joinTable: this.joinTable } : {}),
        queues,
        connections,
      },
      {
        names,
        logGroup,
        logLevel: props.logLevel ?? sfn.LogLevel.ALL,
        includeExecutionData: props.includeExecutionData ?? false,
        tracing: props.tracing ?? true,
        inlineDefinitionMaxBytes: local
          ? Number.POSITIVE_INFINITY
          : (props.inlineDefinitionMaxBytes ?? 100_000),
      },
    );
    this.stateMachine = machines.root;
    this.childStateMachines = Object.fromEntries(machines.children);
    this.alarms = createAlarms(this, ir.name, machines.root, queues, props.alarmTopic);
    const triggers = createTriggers(this, ir, machines.root, this.jobBucket);
    this.triggerRules = Object.fromEntries(triggers?.rules ?? []);
    if (triggers) this.triggerRole = triggers.role;
    const notify = createNotify(this, ir, machines.root);
    if (notify) {
      this.notifyRule = notify.rule;
      if (notify.topic) this.notifyTopic = notify.topic;
      if (notify.function) this.notifyFunction = notify.function;
    }
    createOutputs(this, {
      prefix: pascalCase(id),
      stateMachine: machines.root,
      bucket: this.jobBucket,
      manifest: this.manifest,
      queues,
      workerPolicies,
      ...(notify?.topicArn ? { notifyTopicArn: notify.topicArn } : {}),
      ...(this.cacheTable ? { cacheTableName: this.cacheTable.tableName } : {}),
    });

    this.queues = Object.fromEntries(
      [...queues].map(([queueId, q]) => [queueId, { queue: q.queue, deadLetterQueue: q.deadLetterQueue }]),
    );
    this.functions = Object.fromEntries(functions);
    this.fargateServices = Object.fromEntries(services);
    this.workerPolicies = Object.fromEntries(workerPolicies);
    this.edgeSitePolicies = Object.fromEntries(
      [...queues.values()]
        .filter((q) => q.ir.executor === "agent")
        .map((q) => [q.ir.site, workerPolicies.get(q.ir.id)!]),
    );
    this.node.addValidation({ validate: () => this.checkStackLimits() });
  }

  /** What the worker in a Fargate container reads: the contract's worker environment, nothing else. */
  private workerEnvironment(queue: StepQueue, image: string, concurrency: number): Record<string, string> {
    return formatWorkerEnv({
      FERRY_SITE: queue.ir.site,
      FERRY_QUEUE_URLS: [queue.queue.queueUrl],
      // The site's own manifest: its policy reads no other.
      FERRY_MANIFESTS: [this.manifest.sites.get(queue.ir.site)!.s3Uri],
      // Pinned: the task definition changes with the manifest, so a redeploy restarts the workers.
      FERRY_MANIFEST_HASHES: [this.manifest.sites.get(queue.ir.site)!.hash],
      FERRY_JOB_BUCKETS: [this.jobBucket.bucketName],
      // Cloud workers share the edge's cache entries when one of their steps caches.
      ...(this.cacheTable && queue.ir.steps.some((name) => this.cachedSteps.has(name))
        ? {
            FERRY_STEP_CACHE_BUCKET: this.jobBucket.bucketName,
            FERRY_STEP_CACHE_TABLE: this.cacheTable.tableName,
          }
        : {}),
      // The task runs the step's own image: steps run as processes in it, under the agent.
      FERRY_RUNTIME: "in-container",
      FERRY_STEP_IMAGE: image,
      FERRY_CONCURRENCY: concurrency,
      FERRY_WORK_DIR: AGENT_WORK_DIR,
      // Nothing scrapes a task's /metrics (its logs go to CloudWatch); the port stays the step's.
      FERRY_METRICS_PORT: 0,
    });
  }

  private checkProps(props: FerryWorkflowProps): void {
    const positiveInt = (name: string, value: number | undefined, max: number, fix: string) => {
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max)) {
        throw new InfraError(
          "INVALID_PROP",
          this,
          `${name}: must be an integer from 1 to ${max}, got ${value}; ${fix}`,
        );
      }
    };
    positiveInt("maxReceiveCount", props.maxReceiveCount, 1000, "SQS redrive accepts 1–1000");
    positiveInt(
      "lambdaBatchSize",
      props.lambdaBatchSize,
      10,
      "SQS event source mappings without a batching window take up to 10",
    );
    positiveInt(
      "jobFilesExpiryDays",
      props.jobFilesExpiryDays,
      36_500,
      "give the number of days job files are kept",
    );
    positiveInt(
      "fargate.maxWorkers",
      props.fargate?.maxWorkers,
      1000,
      "give the most worker tasks a pool may run",
    );
    positiveInt(
      "fargate.tasksPerWorker",
      props.fargate?.tasksPerWorker,
      1000,
      "give the steps one worker runs at a time",
    );
    if (props.compiled.manifest.workflow !== props.compiled.ir.name) {
      throw new InfraError(
        "INVALID_PROP",
        this,
        `compiled: the manifest is for workflow "${props.compiled.manifest.workflow}" but the IR is "${props.compiled.ir.name}"; pass one compileSpec result unchanged`,
      );
    }
  }

  private checkStackLimits(): string[] {
    const stack = Stack.of(this);
    const all = stack.node.findAll();
    const resources = all.filter((c) => CfnResource.isCfnResource(c)).length;
    const outputs = all.filter((c) => c instanceof CfnOutput).length;
    const errors: string[] = [];
    if (resources > MAX_RESOURCES) {
      errors.push(
        `${this.node.path}: the stack has ${resources} resources, over CloudFormation's ${MAX_RESOURCES}; each cloud function step adds about eight — run some function steps on an edge site, or split the workflow`,
      );
    }
    if (outputs > MAX_OUTPUTS) {
      errors.push(
        `${this.node.path}: the stack has ${outputs} outputs, over CloudFormation's ${MAX_OUTPUTS}; each queue adds one — use fewer function steps`,
      );
    }
    return errors;
  }
}
