import { chmod } from "node:fs/promises";
import { request } from "node:http";
import { Writable } from "node:stream";
import type { ManifestStep } from "@ferry/dsl-compiler/contract";
import type Dockerode from "dockerode";
import { StreamCapture } from "../capture.ts";
import { AgentError, messageOf } from "../errors.ts";
import { isAlive, parseIdentity } from "../instance.ts";
import { CONTAINER_JOB_DIR } from "../job-paths.ts";
import {
  type ContainerHardeningOptions,
  hardenedHostConfig,
  isRootUser,
  jobBinds,
  NOBODY,
} from "./container-hardening.ts";
import { attachContainer } from "./engine-attach.ts";
import {
  contractEnv,
  MAX_OUTPUT_LINE_BYTES,
  plainValues,
  type RunIdentity,
  type Runtime,
  type RuntimeRequest,
  type RuntimeResult,
} from "./runtime.ts";

/** When the engine pulls a step's image: `never` (air-gapped devices, tests), `missing`, or `always`. */
export type PullPolicy = "never" | "missing" | "always";

export interface DockerRuntimeOptions extends ContainerHardeningOptions {
  /**
   * Engine API socket.
   * @default "/var/run/docker.sock" (or `DOCKER_HOST` when it is a unix:// URL)
   */
  socketPath?: string;
  /** @default "missing" */
  pullPolicy?: PullPolicy;
  /** GPUs this device can hand to steps; a step asking for more fails. @default 0 */
  gpus?: number;
  /** Apply `resources.cpu`/`memoryMiB` as engine limits. @default true */
  enforceResources?: boolean;
  /** Seconds between SIGTERM and SIGKILL when a step is stopped. @default 5 */
  killGraceSeconds?: number;
  /** Name in logs and results. @default "docker" */
  name?: string;
  /** Extra flags on every bind (`nosuid`, `nodev` where the engine's bind syntax takes them). @default none */
  bindOptions?: string[];
  /**
   * Who owns the containers this runtime starts (e.g. the agent's work
   * folder): labelled on each, so a restarted agent can stop what a crashed
   * one left running ({@link DockerRuntime.reapOrphans}). @default none
   */
  owner?: string;
  /**
   * This agent instance (`boot:pid:start`, see `formatIdentity`): labelled
   * on each container, so that reaping never touches the containers of an
   * instance that is still alive. @default none
   */
  instance?: string;
  /** A ready client (tests, custom TLS); overrides `socketPath`. */
  client?: Dockerode;
}

/** Label every task container carries, so an agent can find what it left behind. */
export const CONTAINER_LABEL = "dev.ferry.step";
/** Label naming the agent instance family (its `owner`) that started a task container. */
export const OWNER_LABEL = "dev.ferry.owner";
/** Label naming the agent process (`boot:pid:start`) that started a task container. */
export const INSTANCE_LABEL = "dev.ferry.instance";

/**
 * Runs `container` steps through the Docker Engine API (dockerode), with
 * the step contract: input on stdin and in `FERRY_INPUT_FILE`, job files bound at
 * `/ferry/job` (inputs read-only), output on the last stdout line or
 * `/ferry/job/.output.json`. Defaults are locked down (see
 * {@link hardenedHostConfig}): no network unless the step asks, all
 * capabilities dropped, no-new-privileges, read-only root with a tmpfs
 * `/tmp`, a non-root user for root images, pids, memory and swap limits.
 */
export class DockerRuntime implements Runtime {
  readonly name: string;
  private readonly options: DockerRuntimeOptions;
  private client: Dockerode | undefined;
  /** Each image's configured user, looked up once. */
  private readonly imageUsers = new Map<string, string>();

  constructor(options: DockerRuntimeOptions = {}) {
    this.options = options;
    this.name = options.name ?? "docker";
    this.client = options.client;
  }

  /** Checks the engine answers; throws `RUNTIME_UNAVAILABLE` with how to fix it otherwise. */
  async ping(): Promise<void> {
    const docker = await this.docker();
    try {
      await docker.ping();
    } catch (error) {
      throw new AgentError(
        "RUNTIME_UNAVAILABLE",
        `the ${this.name} engine at ${this.socketPath()} does not answer (${messageOf(error)}) — start it, or pass --engine-socket`,
        { cause: error },
      );
    }
  }

  /** The local image id (`sha256:…`) the step's image resolves to on this engine; `{}` before it is pulled. */
  async identify(step: ManifestStep): Promise<RunIdentity> {
    if (step.runtime.kind !== "container") return {};
    const docker = await this.docker();
    const info = await docker
      .getImage(step.runtime.image)
      .inspect()
      .catch(() => undefined);
    return info?.Id ? { imageDigest: info.Id } : {};
  }

  /**
   * Why the engine will not apply the limits the runtime sets, if it says so:
   * rootless engines on cgroups v1 ignore memory, CPU and pids limits.
   * Undefined when they apply or the engine does not tell (a proxy refusing `/info`).
   */
  async limitsProblem(): Promise<string | undefined> {
    // podman tells through its own (versioned) API, its Docker-compatible /info does not say "rootless"; Docker through /info.
    const libpod = (await getJson(this.socketPath(), "/v4.0.0/libpod/info")) as
      | { host?: { cgroupVersion?: string; security?: { rootless?: boolean } } }
      | undefined;
    const info = libpod
      ? undefined
      : ((await getJson(this.socketPath(), "/info")) as
          | { CgroupVersion?: string; SecurityOptions?: string[] }
          | undefined);
    const rootless = libpod
      ? libpod.host?.security?.rootless === true
      : (info?.SecurityOptions?.some((o) => o.split(",").includes("name=rootless")) ?? false);
    const cgroup = libpod ? libpod.host?.cgroupVersion : info?.CgroupVersion;
    if (!rootless || (cgroup !== "v1" && cgroup !== "1")) return undefined;
    return `the ${this.name} engine is rootless on cgroups v1, which ignores memory, CPU and pids limits: steps run without them (use a host with cgroups v2 and delegation for rootless limits)`;
  }

  async run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "container") {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" is a ${runtime.kind} step, not a container step`,
      );
    }
    const docker = await this.docker();
    if (runtime.imageDigest) await this.checkPinned(request.step, runtime.image, runtime.imageDigest);
    const gpus = request.step.resources.gpu;
    if (gpus > (this.options.gpus ?? 0)) {
      throw new AgentError(
        "RUNTIME_UNAVAILABLE",
        `step "${request.step.name}" asks for ${gpus} GPU(s) but this device offers ${this.options.gpus ?? 0} — set gpus in the agent config or place the step elsewhere`,
      );
    }
    const env = {
      ...plainValues(request.step.name, runtime.env),
      ...contractEnv(request, CONTAINER_JOB_DIR),
    };
    const bindOptions = this.options.bindOptions ?? [];
    const enforce = this.options.enforceResources ?? true;
    const spec: Dockerode.ContainerCreateOptions = {
      // Pinned: the container is made from the checked image id, so a tag moved meanwhile cannot slip in.
      Image: runtime.imageDigest ?? runtime.image,
      ...(runtime.command ? { Cmd: runtime.command } : {}),
      ...(runtime.entrypoint ? { Entrypoint: runtime.entrypoint } : {}),
      ...(runtime.workingDir ? { WorkingDir: runtime.workingDir } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        [CONTAINER_LABEL]: request.step.name,
        "dev.ferry.execution": request.env.FERRY_EXECUTION ?? "",
        ...(this.options.owner ? { [OWNER_LABEL]: this.options.owner } : {}),
        ...(this.options.instance ? { [INSTANCE_LABEL]: this.options.instance } : {}),
      },
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      HostConfig: {
        ...hardenedHostConfig(
          request.step.name,
          runtime,
          jobBinds(request.jobDir, CONTAINER_JOB_DIR, request.step.inputs, bindOptions),
          this.options,
          bindOptions,
        ),
        ...(enforce
          ? {
              NanoCpus: Math.round(request.step.resources.cpu * 1e9),
              Memory: request.step.resources.memoryMiB * 1024 * 1024,
              // Equal to Memory: no swap on top, so the limit is the limit.
              MemorySwap: request.step.resources.memoryMiB * 1024 * 1024,
            }
          : {}),
        ...(gpus > 0 ? { DeviceRequests: [{ Driver: "", Count: gpus, Capabilities: [["gpu"]] }] } : {}),
      },
    };
    const user = await this.userFor(docker, runtime.image);
    if (user) spec.User = user;
    // The step's user (often 65534) must be able to write outputs; the work folder above stays private to the agent.
    await chmod(request.jobDir, 0o777);
    const container = await this.create(docker, spec, request.step.name);
    try {
      return await this.attachAndRun(container, request);
    } finally {
      await container.remove({ force: true, v: true }).catch(() => {
        // Already gone (removed by the engine or a concurrent stop): nothing left behind.
      });
    }
  }

  /**
   * Removes task containers a previous instance with the same `owner` left
   * behind (SIGKILL, power loss): their steps were abandoned and will be
   * retried from the queue. Containers of another owner, or of an instance
   * that is still alive, are never touched. Call before receiving. Returns
   * how many.
   */
  async reapOrphans(): Promise<number> {
    if (!this.options.owner) return 0;
    const docker = await this.docker();
    const listed = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${OWNER_LABEL}=${this.options.owner}`] }),
    });
    const found = listed.filter((c) => {
      const instance = parseIdentity(c.Labels?.[INSTANCE_LABEL] ?? "");
      return !instance || !isAlive(instance);
    });
    await Promise.all(
      found.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    return found.length;
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  private async attachAndRun(
    container: Dockerode.Container,
    request: RuntimeRequest,
  ): Promise<RuntimeResult> {
    const stdout = new StreamCapture(request.logCapBytes, MAX_OUTPUT_LINE_BYTES);
    const stderr = new StreamCapture(request.logCapBytes, 0);
    const stream = await attachContainer(this.socketPath(), container.id);
    const ended = new Promise<void>((resolve) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });
    container.modem.demuxStream(
      stream,
      sink((c) => stdout.write(c)),
      sink((c) => stderr.log.write(c)),
    );

    let aborted = false;
    const stop = () => {
      aborted = true;
      void container.stop({ t: this.options.killGraceSeconds ?? 5 }).catch(() => {
        // Exited on its own meanwhile.
      });
    };
    try {
      await container.start();
      // Half-close: the engine closes the step's stdin, output keeps flowing.
      stream.end(request.inputJson);
      if (request.signal.aborted) stop();
      else request.signal.addEventListener("abort", stop, { once: true });
      const status = (await container.wait()) as { StatusCode: number };
      await Promise.race([ended, new Promise((r) => setTimeout(r, 2000).unref())]);
      return {
        exitCode: aborted && status.StatusCode === 137 ? null : status.StatusCode,
        stdout: stdout.log.text(),
        stderr: stderr.log.text(),
        stdoutBytes: stdout.log.totalBytes,
        stderrBytes: stderr.log.totalBytes,
        lastStdoutLine: stdout.lastLine.value(),
        aborted,
      };
    } catch (error) {
      throw new AgentError(
        "RUNTIME_FAILED",
        `${this.name} could not run step "${request.step.name}": ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    } finally {
      request.signal.removeEventListener("abort", stop);
      stream.destroy();
    }
  }

  /** A pinned step runs only the image it was compiled against: a tag moved since is refused, not run. */
  private async checkPinned(step: ManifestStep, image: string, pinned: string): Promise<void> {
    let { imageDigest } = await this.identify(step);
    if (imageDigest === undefined && (this.options.pullPolicy ?? "missing") !== "never") {
      await this.pull(await this.docker(), image);
      ({ imageDigest } = await this.identify(step));
    }
    if (imageDigest !== pinned) {
      throw new AgentError(
        "IMAGE_DIGEST_MISMATCH",
        `step "${step.name}" is pinned to ${pinned} but image "${image}" is ${imageDigest ?? "not on this device"} here — load the pinned image, or recompile with \`ferry compile --pin-images\``,
        { context: { step: step.name, image } },
      );
    }
  }

  /** The user a container runs as: the image's own unless it is root and the config does not allow root. */
  private async userFor(docker: Dockerode, image: string): Promise<string | undefined> {
    let user = this.imageUsers.get(image);
    if (user === undefined) {
      const info = await docker
        .getImage(image)
        .inspect()
        .catch(() => undefined);
      // Unknown until pulled: decided again after the pull (the create path pulls first).
      if (!info) return this.options.allowRoot ? undefined : NOBODY;
      user = info.Config?.User ?? "";
      this.imageUsers.set(image, user);
    }
    if (!isRootUser(user)) return undefined;
    return this.options.allowRoot ? undefined : NOBODY;
  }

  private async create(
    docker: Dockerode,
    spec: Dockerode.ContainerCreateOptions,
    step: string,
  ): Promise<Dockerode.Container> {
    const policy = this.options.pullPolicy ?? "missing";
    if (policy === "always") await this.pull(docker, spec.Image!);
    try {
      return await docker.createContainer(spec);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) {
        throw new AgentError(
          "RUNTIME_FAILED",
          `${this.name} could not create the container of step "${step}": ${messageOf(error)}`,
          {
            cause: error,
          },
        );
      }
      if (policy !== "missing") {
        throw new AgentError(
          "IMAGE_NOT_FOUND",
          `image "${spec.Image}" of step "${step}" is not on this device and pullPolicy is "${policy}" — load it first (docker pull / docker load) or set pullPolicy: missing`,
          { cause: error },
        );
      }
      await this.pull(docker, spec.Image!);
      return docker.createContainer(spec);
    }
  }

  private async pull(docker: Dockerode, image: string): Promise<void> {
    try {
      const progress = await docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(progress, (error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      throw new AgentError("IMAGE_NOT_FOUND", `could not pull image "${image}": ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private socketPath(): string {
    if (this.options.socketPath) return this.options.socketPath;
    const modemSocket = (this.client?.modem as { socketPath?: unknown } | undefined)?.socketPath;
    if (typeof modemSocket === "string") return modemSocket;
    const host = process.env.DOCKER_HOST;
    return host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
  }

  private async docker(): Promise<Dockerode> {
    if (!this.client) {
      // Loaded lazily: `ferry run` with process steps only never pays for it.
      const { default: Docker } = await import("dockerode");
      this.client = new Docker({ socketPath: this.socketPath() });
    }
    return this.client;
  }
}

/** A GET on the engine socket as JSON; undefined for any answer but 200 (or no answer). */
function getJson(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ socketPath, method: "GET", path, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

function sink(write: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk);
      callback();
    },
  });
}
