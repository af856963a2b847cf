import type { IrQueue, WorkflowIr } from "@ferry/dsl-compiler";
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { InfraError } from "../errors.ts";
import { backlogScalingSteps, fargateSize } from "./fargate-size.ts";
import { acknowledgeWildcardResource } from "./nag.ts";
import type { StepQueue } from "./step-queues.ts";

/** ECR repository the default worker image comes from, in the stack's account and region. */
export const DEFAULT_WORKER_REPOSITORY = "ferry-worker";
/** Tag of the default worker image: the Ferry release these constructs belong to. */
export const DEFAULT_WORKER_TAG = "0.1.0";

export interface FargatePoolsOptions {
  vpc?: ec2.IVpc;
  image?: ecs.ContainerImage;
  maxWorkers: number;
  tasksPerWorker: number;
  logRetention: logs.RetentionDays;
  policies: Map<string, iam.IManagedPolicy>;
  /** Environment of the worker container of a queue. */
  environment: (queue: StepQueue) => Record<string, string>;
}

/**
 * A pool of Ferry workers per `fargate` queue: an ECS service on Fargate
 * that scales on the queue's backlog, to zero when idle. Workers run steps
 * as processes inside the worker container, so the worker image must carry
 * what those steps run (Fargate cannot start nested containers).
 */
export function createFargatePools(
  scope: Construct,
  ir: WorkflowIr,
  queues: Map<string, StepQueue>,
  options: FargatePoolsOptions,
): Map<string, ecs.FargateService> {
  const services = new Map<string, ecs.FargateService>();
  const pools = [...queues.values()].filter((q) => q.ir.executor === "fargate");
  if (pools.length === 0) return services;
  const root = new Construct(scope, "Fargate");
  const vpc = options.vpc ?? defaultVpc(root);
  const cluster = new ecs.Cluster(root, "Cluster", {
    vpc,
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });
  const logGroup = new logs.LogGroup(root, "Logs", { retention: options.logRetention });
  const image =
    options.image ??
    ecs.ContainerImage.fromEcrRepository(
      ecr.Repository.fromRepositoryName(root, "WorkerRepository", DEFAULT_WORKER_REPOSITORY),
      DEFAULT_WORKER_TAG,
    );
  for (const queue of pools) {
    const group = new Construct(root, queue.ir.id);
    const size = poolSize(group, ir, queue.ir);
    const taskDefinition = new ecs.FargateTaskDefinition(group, "Task", {
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    taskDefinition.taskRole.addManagedPolicy(options.policies.get(queue.ir.id)!);
    // Scale-in must not stop a worker mid-step: the worker protects its task while it runs one.
    const tasks = Stack.of(group).formatArn({
      service: "ecs",
      resource: "task",
      resourceName: `${cluster.clusterName}/*`,
    });
    taskDefinition.addToTaskRolePolicy(
      new iam.PolicyStatement({
        actions: ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"],
        resources: [tasks],
      }),
    );
    acknowledgeWildcardResource(
      taskDefinition.taskRole,
      tasks,
      "A worker protects its own task from scale-in; task ids exist only at run time, so access is limited to the pool's cluster.",
    );
    taskDefinition.addContainer("Worker", {
      image,
      essential: true,
      environment: options.environment(queue),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: queue.ir.id }),
      // Fargate's longest grace period: the worker stops receiving, finishes or hands back its steps.
      stopTimeout: Duration.seconds(120),
    });
    Validations.of(taskDefinition).acknowledge({
      id: "AwsSolutions-ECS2",
      reason:
        "The environment holds only non-secret addresses (queue URL, bucket name, parameter name); credentials come from the task role.",
    });
    if (!options.image) {
      Validations.of(taskDefinition).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "The execution role pulls the worker image from ECR; ecr:GetAuthorizationToken supports no resource-level permissions.",
      });
    }
    const service = new ecs.FargateService(group, "Service", {
      cluster,
      taskDefinition,
      desiredCount: 0,
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
      assignPublicIp: options.vpc === undefined,
      vpcSubnets: {
        subnetType: options.vpc === undefined ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
      },
      circuitBreaker: { rollback: true },
    });
    scaleOnBacklog(service, queue, options);
    services.set(queue.ir.id, service);
  }
  return services;
}

/** The biggest step of the pool decides the task size. */
function poolSize(scope: Construct, ir: WorkflowIr, queue: IrQueue): { cpu: number; memoryMiB: number } {
  const steps = queue.steps.map((name) => ir.steps.find((s) => s.name === name)!);
  const gpu = steps.find((s) => s.resources.gpu > 0);
  if (gpu) {
    throw new InfraError(
      "INVALID_SPEC",
      scope,
      `step "${gpu.name}" asks for ${gpu.resources.gpu} GPU(s), but Fargate has none; place the step on an edge site with GPUs`,
    );
  }
  const cpu = Math.max(...steps.map((s) => s.resources.cpu));
  const memoryMiB = Math.max(...steps.map((s) => s.resources.memoryMiB));
  const size = fargateSize(cpu, memoryMiB);
  if (!size) {
    throw new InfraError(
      "INVALID_SPEC",
      scope,
      `the steps of queue "${queue.id}" need ${cpu} vCPU and ${memoryMiB} MiB, more than Fargate's largest task (16 vCPU, 122,880 MiB); lower resources or place them on an edge site`,
    );
  }
  return size;
}

function scaleOnBacklog(
  service: ecs.FargateService,
  { queue }: StepQueue,
  options: FargatePoolsOptions,
): void {
  const period = Duration.minutes(1);
  const backlog = new cloudwatch.MathExpression({
    expression: "visible + inFlight",
    usingMetrics: {
      visible: queue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
      inFlight: queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: "Maximum" }),
    },
    period,
    label: "step messages waiting or running",
  });
  service.autoScaleTaskCount({ minCapacity: 0, maxCapacity: options.maxWorkers }).scaleOnMetric("Backlog", {
    metric: backlog,
    scalingSteps: backlogScalingSteps(options.maxWorkers, options.tasksPerWorker),
    adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
    cooldown: Duration.minutes(1),
  });
}

/**
 * Public subnets in two AZs and no NAT gateway: workers reach SQS, S3 and
 * Step Functions over the internet gateway with public IPs and accept no
 * inbound traffic. Rejected traffic is logged.
 */
function defaultVpc(scope: Construct): ec2.IVpc {
  return new ec2.Vpc(scope, "Vpc", {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: "workers", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
  });
}
