/**
 * Fargate, the way it can be exercised here: LocalStack cannot run ECS, so
 * the task definitions of the `aws`-target template are resolved against the
 * stack deployed to LocalStack and their containers run with the local Docker
 * engine, as ECS would start them: the same images (the agent image built
 * from the cloud assembly's own image asset), entry point, command,
 * environment, volumes and container order. Only the endpoint and
 * credential variables ECS or the caller would provide are added.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CloudFormationClient, DescribeStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import Dockerode from "dockerode";
import {
  awsClientConfig,
  dockerSocket,
  LOCALSTACK_ACCOUNT_ID,
  localstackEndpoint,
  TEST_REGION,
} from "./env.ts";

type Cfn = unknown;

export interface ContainerDefinition {
  Name: string;
  Image: Cfn;
  Essential?: boolean;
  EntryPoint?: string[];
  Command?: string[];
  Environment?: Array<{ Name: string; Value: Cfn }>;
  MountPoints?: Array<{ SourceVolume: string; ContainerPath: string; ReadOnly?: boolean }>;
  DependsOn?: Array<{ ContainerName: string; Condition: string }>;
  StopTimeout?: number;
}

export interface TaskDefinition {
  logicalId: string;
  containers: ContainerDefinition[];
  volumes: Array<{ Name: string }>;
}

/** The ECS task definitions of a synthesized template. */
export function taskDefinitions(templatePath: string): TaskDefinition[] {
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::ECS::TaskDefinition")
    .map(([logicalId, r]) => ({
      logicalId,
      containers: r.Properties.ContainerDefinitions as ContainerDefinition[],
      volumes: (r.Properties.Volumes ?? []) as Array<{ Name: string }>,
    }));
}

/** Physical ids of a deployed stack's resources, by logical id (queues: their URL; buckets: their name). */
export async function physicalIds(stackName: string): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient(awsClientConfig());
  try {
    const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
    return Object.fromEntries(
      (out.StackResources ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]),
    );
  } finally {
    cfn.destroy();
  }
}

/**
 * Resolves a CloudFormation value (Ref, Fn::Sub, Fn::Join, Fn::GetAtt of
 * an ARN, Fn::Select, Fn::Split) against a deployed stack. Anything else is
 * refused, so a new kind of reference cannot slip through unresolved.
 */
export function resolveCfn(value: Cfn, ids: Record<string, string>, region = TEST_REGION): string {
  const pseudo: Record<string, string> = {
    "AWS::AccountId": LOCALSTACK_ACCOUNT_ID,
    "AWS::Region": region,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
  };
  const ref = (name: string): string => {
    const found = pseudo[name] ?? ids[name];
    if (found === undefined)
      throw new Error(`cannot resolve Ref ${name}: not a resource of the deployed stack`);
    return found;
  };
  const arnOf = (logicalId: string): string => {
    const id = ref(logicalId);
    if (id.startsWith("arn:")) return id;
    if (id.startsWith("http"))
      return `arn:aws:sqs:${region}:${LOCALSTACK_ACCOUNT_ID}:${id.split("/").at(-1)}`;
    return `arn:aws:s3:::${id}`;
  };
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  const [fn, arg] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  switch (fn) {
    case "Ref":
      return ref(arg as string);
    case "Fn::GetAtt": {
      const [logicalId, attribute] = arg as [string, string];
      if (attribute === "Arn") return arnOf(logicalId);
      throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute}`);
    }
    case "Fn::Join": {
      const [sep, parts] = arg as [string, Cfn[]];
      return parts.map((p) => resolveCfn(p, ids, region)).join(sep);
    }
    case "Fn::Select": {
      const [index, list] = arg as [number, Cfn];
      const items = Array.isArray(list)
        ? list.map((p) => resolveCfn(p, ids, region))
        : splitOf(list, ids, region);
      return items[index]!;
    }
    case "Fn::Sub": {
      const [text, vars] = (typeof arg === "string" ? [arg, {}] : arg) as [string, Record<string, Cfn>];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return resolveCfn(vars[name], ids, region);
        const [logicalId, attribute] = name.split(".");
        return attribute ? resolveCfn({ "Fn::GetAtt": [logicalId, attribute] }, ids, region) : ref(name);
      });
    }
    default:
      throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }
}

function splitOf(value: Cfn, ids: Record<string, string>, region: string): string[] {
  const [sep, text] = (value as { "Fn::Split": [string, Cfn] })["Fn::Split"];
  return resolveCfn(text, ids, region).split(sep);
}

/** Builds the cloud assembly's Docker image assets locally; returns local tag by the image URI the template names. */
export function buildImageAssets(
  assemblyDir: string,
  stackArtifactId: string,
  region = TEST_REGION,
): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(assemblyDir, `${stackArtifactId}.assets.json`), "utf8")) as {
    dockerImages?: Record<
      string,
      {
        source: { directory: string };
        destinations: Record<string, { repositoryName: string; imageTag: string }>;
      }
    >;
  };
  const tags = new Map<string, string>();
  for (const [hash, image] of Object.entries(manifest.dockerImages ?? {})) {
    const tag = `ferry-fargate-agent:${hash.slice(0, 16)}`;
    execFileSync("docker", ["build", "-q", "-t", tag, join(assemblyDir, image.source.directory)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    for (const dest of Object.values(image.destinations)) {
      // The asset's repository carries CloudFormation placeholders, resolved like the template's.
      const repository = resolveCfn({ "Fn::Sub": dest.repositoryName }, {}, region);
      tags.set(
        `${LOCALSTACK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${repository}:${dest.imageTag}`,
        tag,
      );
    }
  }
  return tags;
}

export interface RunningTask {
  /** When the task was asked to start, the init containers had exited, and the last container started (epoch ms). */
  timings: { requestedMs: number; initDoneMs: number; startedMs: number };
  /** Container ids by container name, in start order. */
  containers: Map<string, string>;
  volumes: string[];
  /** Stops the task as ECS does (SIGTERM, then SIGKILL after StopTimeout) and removes its containers and volumes. */
  stop(): Promise<void>;
  logs(name: string): Promise<string>;
}

export interface RunTaskOptions {
  /** Resolves references in the template's values. */
  ids: Record<string, string>;
  /** Local tags for image URIs (the agent image asset). */
  images: Map<string, string>;
  /** Endpoint and credential variables, added to every container's environment. */
  extraEnv: Record<string, string>;
  /** Names containers and volumes: `ferry-fargate-<prefix>-…`. */
  prefix: string;
}

/**
 * Starts one task of a task definition with the local engine, the way ECS
 * runs it: one volume per task volume, containers in `DependsOn` order (a
 * SUCCESS dependency must have exited 0), host networking (Fargate's awsvpc
 * gives the task its own network; LocalStack is on loopback here).
 */
export async function runTask(task: TaskDefinition, options: RunTaskOptions): Promise<RunningTask> {
  const requestedMs = Date.now();
  let initDoneMs = requestedMs;
  const docker = new Dockerode({ socketPath: dockerSocket() });
  const volumes = task.volumes.map((v) => `ferry-fargate-${options.prefix}-${v.Name}`);
  for (const name of volumes) await docker.createVolume({ Name: name });
  const volumeName = (source: string) => `ferry-fargate-${options.prefix}-${source}`;
  const containers = new Map<string, string>();
  const started = new Set<string>();
  const pending = [...task.containers];
  while (pending.length > 0) {
    const index = pending.findIndex((c) => (c.DependsOn ?? []).every((d) => started.has(d.ContainerName)));
    if (index < 0) throw new Error(`task ${task.logicalId}: container dependencies form a cycle`);
    const [def] = pending.splice(index, 1) as [ContainerDefinition];
    const image = resolveCfn(def.Image, options.ids);
    const env = [
      ...(def.Environment ?? []).map((e) => `${e.Name}=${resolveCfn(e.Value, options.ids)}`),
      ...Object.entries(options.extraEnv).map(([k, v]) => `${k}=${v}`),
    ];
    const container = await docker.createContainer({
      name: `ferry-fargate-${options.prefix}-${def.Name}`,
      Image: options.images.get(image) ?? image,
      ...(def.EntryPoint ? { Entrypoint: def.EntryPoint } : {}),
      ...(def.Command ? { Cmd: def.Command } : {}),
      Env: env,
      ...(def.StopTimeout ? { StopTimeout: def.StopTimeout } : {}),
      HostConfig: {
        NetworkMode: "host",
        Mounts: (def.MountPoints ?? []).map((m) => ({
          Type: "volume" as const,
          Source: volumeName(m.SourceVolume),
          Target: m.ContainerPath,
          ReadOnly: m.ReadOnly ?? false,
        })),
      },
    });
    containers.set(def.Name, container.id);
    await container.start();
    if (
      task.containers.some((c) =>
        c.DependsOn?.some((d) => d.ContainerName === def.Name && d.Condition === "SUCCESS"),
      )
    ) {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0)
        throw new Error(`container ${def.Name} of ${task.logicalId} exited ${StatusCode}`);
      initDoneMs = Date.now();
    }
    started.add(def.Name);
  }
  const logs = async (name: string) => {
    const id = containers.get(name);
    if (!id) return "";
    const buffer = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    return demux(buffer);
  };
  const startedMs = Date.now();
  return {
    timings: { requestedMs, initDoneMs, startedMs },
    containers,
    volumes,
    logs,
    async stop() {
      for (const id of [...containers.values()].reverse()) {
        const c = docker.getContainer(id);
        await c.stop({ t: 30 }).catch(() => undefined);
        await c.remove({ force: true }).catch(() => undefined);
      }
      for (const name of volumes)
        await docker
          .getVolume(name)
          .remove()
          .catch(() => undefined);
    },
  };
}

/** Docker's multiplexed log stream (8-byte frame headers) as text. */
function demux(buffer: Buffer): string {
  const parts: string[] = [];
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size).toString("utf8"));
    at += 8 + size;
  }
  return parts.join("");
}

/** What the test adds to each container: LocalStack's endpoint and dummy credentials, and the region ECS sets. */
export function localStackEnv(): Record<string, string> {
  const { credentials } = awsClientConfig();
  return {
    AWS_ENDPOINT_URL: localstackEndpoint(),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
  };
}
