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
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { synthesizeStack } from "@ferry/infra";
import Dockerode from "dockerode";
import {
  awsClientConfig,
  dockerSocket,
  LOCALSTACK_ACCOUNT_ID,
  localstackEndpoint,
  TEST_REGION,
} from "./env.ts";
import { physicalIds, readTemplate, TemplateResolver } from "./iam-evidence.ts";

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

/**
 * Resolves a template value against the deployed stack (the IAM evidence's
 * resolver); a reference to anything the stack did not deploy is refused,
 * so no made-up name reaches a container.
 */
export function resolveValue(resolver: TemplateResolver, value: unknown): string {
  const resolved = String(resolver.resolve(value as never));
  if (resolved.includes("-not-deployed")) {
    throw new Error(
      `${JSON.stringify(value)} names a resource the LocalStack stack does not have (${resolved})`,
    );
  }
  return resolved;
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
      const repository = dest.repositoryName.replace(/\$\{AWS::(AccountId|Region)\}/g, (_, name: string) =>
        name === "Region" ? region : LOCALSTACK_ACCOUNT_ID,
      );
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
  /** Resolves references in the template's values against the deployed stack. */
  resolver: TemplateResolver;
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
    const image = resolveValue(options.resolver, def.Image);
    const env = [
      ...(def.Environment ?? []).map((e) => `${e.Name}=${resolveValue(options.resolver, e.Value)}`),
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

/**
 * Stands in for the task's ECS agent endpoint, which only exists inside an
 * ECS task: it records the task-protection calls the agent makes (PUT
 * <ECS_AGENT_URI>/task-protection/v1/state) and lets a step ask whether its
 * task is protected right now (GET /state).
 */
export class EcsAgentEndpoint {
  readonly calls: Array<{ path: string; body: { ProtectionEnabled: boolean; ExpiresInMinutes?: number } }> =
    [];
  private protectedNow = false;
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        if (req.method === "PUT" && req.url?.endsWith("/task-protection/v1/state")) {
          const parsed = JSON.parse(body);
          this.calls.push({ path: req.url, body: parsed });
          this.protectedNow = parsed.ProtectionEnabled === true;
          res.end(JSON.stringify({ protection: { ProtectionEnabled: this.protectedNow } }));
        } else if (req.method === "GET" && req.url === "/state") {
          res.end(JSON.stringify({ protected: this.protectedNow }));
        } else {
          res.statusCode = 404;
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The `aws`-target synthesis of a spec: the template whose task definitions ECS would run. */
export async function synthesizeAwsTarget(
  spec: string,
  dir: string,
  outName: string,
): Promise<ReturnType<typeof synthesizeStack>> {
  const { compiled } = await compileSpecFile(spec);
  if (!compiled) throw new Error(`${spec} does not compile`);
  return synthesizeStack(compiled, {
    outDir: join(dir, outName),
    projectRoot: dir,
    target: "aws",
    region: TEST_REGION,
    nag: false,
  });
}

/**
 * Starts one task of every task definition of an `aws`-target synthesis,
 * resolved against the stack deployed to LocalStack, with the agent image
 * built from the assembly. `ecsAgentUri(i)` names each task's ECS agent
 * endpoint (ECS sets ECS_AGENT_URI in every task).
 */
export async function runPools(
  synth: ReturnType<typeof synthesizeStack>,
  options: { prefix: string; ecsAgentUri: (index: number) => string },
): Promise<RunningTask[]> {
  const resolver = new TemplateResolver(
    readTemplate(synth.templatePath),
    await physicalIds(synth.stackName, TEST_REGION),
    TEST_REGION,
  );
  const images = buildImageAssets(synth.assemblyDir, synth.stackName);
  const tasks: RunningTask[] = [];
  try {
    for (const [i, task] of taskDefinitions(synth.templatePath).entries()) {
      tasks.push(
        await runTask(task, {
          resolver,
          images,
          extraEnv: { ...localStackEnv(), ECS_AGENT_URI: options.ecsAgentUri(i) },
          prefix: `${options.prefix}-${i}`,
        }),
      );
    }
  } catch (error) {
    await Promise.all(tasks.map((t) => t.stop()));
    throw error;
  }
  return tasks;
}
