import type { IrQueue, WorkflowIr } from "@ferry/dsl-compiler";
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { InfraError } from "../errors.ts";
import { AGENT_ENTRY_POINT, AGENT_LOADER, AGENT_VOLUME_PATH, agentImageContext } from "./agent-image.ts";
import { backlogScalingSteps, fargateSize } from "./fargate-size.ts";
import { acknowledgeWildcardResource } from "./nag.ts";
import type { StepQueue } from "./step-queues.ts";

export interface FargatePoolsOptions {
  vpc?: ec2.IVpc;
  /** Image the agent is copied from into each task. */
  agentImage?: ecs.ContainerImage;
  maxWorkers: number;
  tasksPerWorker: number;
  logRetention: logs.RetentionDays;
  policies: Map<string, iam.IManagedPolicy>;
  /** Environment of the step container of a queue's pool (the worker environment contract). */
  environment: (queue: StepQueue, image: string) => Record<string, string>;
}

/** The shared task volume the agent is copied into. */
const AGENT_VOLUME = "ferry-agent";

/**
 * One pool per `fargate` queue, that is per (aws site, step image): an ECS
 * service on Fargate scaled on the queue's backlog, to zero when idle. Each
 * task runs the step's own image with Ferry's agent injected (Argo's
 * emissary pattern): an init container from the agent image fills the task
 * volume `/ferry` with the self-contained agent (its own loader and
 * libraries, so the step's image needs neither Node.js nor glibc), and the
 * step's container starts it as its entry point; the agent polls the pool's
 * queue and runs each step's command as a process in that container.
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
  // Built by `cdk deploy` / `ferry deploy` and pushed to the stack's asset repository in ECR.
  const agentImage =
    options.agentImage ??
    ecs.ContainerImage.fromDockerImageAsset(
      new ecrAssets.DockerImageAsset(root, "AgentImage", {
        directory: agentImageContext().dir,
        platform: ecrAssets.Platform.LINUX_AMD64,
      }),
    );
  for (const queue of pools) {
    const group = new Construct(root, queue.ir.id);
    const image = poolImage(group, ir, queue.ir);
    const size = poolSize(group, ir, queue.ir);
    const taskDefinition = new ecs.FargateTaskDefinition(group, "Task", {
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: AGENT_VOLUME }],
    });
    taskDefinition.taskRole.addManagedPolicy(options.policies.get(queue.ir.id)!);
    // Scale-in must not stop a task mid-step: the agent protects its task while it runs one.
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
    const agent = taskDefinition.addContainer("FerryAgent", {
      image: agentImage,
      // Mounting the volume copies the image's /ferry into it; the loader's own --version then
      // exits at once, with no Node.js start to pay before the step's container may start.
      essential: false,
      entryPoint: [AGENT_LOADER, "--version"],
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: `${queue.ir.id}-agent` }),
    });
    agent.addMountPoints({ sourceVolume: AGENT_VOLUME, containerPath: AGENT_VOLUME_PATH, readOnly: false });
    const step = taskDefinition.addContainer("Step", {
      image: ecs.ContainerImage.fromRegistry(image),
      essential: true,
      entryPoint: AGENT_ENTRY_POINT,
      environment: options.environment(queue, image),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: queue.ir.id }),
      // Fargate's longest grace period: the agent stops receiving, finishes or hands back its steps.
      stopTimeout: Duration.seconds(120),
    });
    step.addMountPoints({ sourceVolume: AGENT_VOLUME, containerPath: AGENT_VOLUME_PATH, readOnly: false });
    step.addContainerDependencies({ container: agent, condition: ecs.ContainerDependencyCondition.SUCCESS });
    Validations.of(taskDefinition).acknowledge({
      id: "AwsSolutions-ECS2",
      reason:
        "The environment holds only non-secret addresses (queue URL, bucket name, manifest location, image name); credentials come from the task role.",
    });
    if (!options.agentImage) {
      Validations.of(taskDefinition).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "The execution role pulls the agent image from ECR; ecr:GetAuthorizationToken supports no resource-level permissions.",
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

/** The one image every step of the pool runs (the compiler gives each image its own queue). */
function poolImage(scope: Construct, ir: WorkflowIr, queue: IrQueue): string {
  const images = new Set(
    queue.steps.map((name) => {
      const runtime = ir.steps.find((s) => s.name === name)!.runtime;
      return runtime.kind === "container" ? runtime.image : "";
    }),
  );
  const [image] = images;
  if (images.size !== 1 || !image) {
    throw new InfraError(
      "INVALID_SPEC",
      scope,
      `queue "${queue.id}" must hold container steps of one image, got ${JSON.stringify([...images])}; compile the spec with this version of Ferry`,
    );
  }
  return image;
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
