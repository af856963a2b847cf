import { mkdir, rename, rm, symlink } from "node:fs/promises";
import { dirname } from "node:path";
import { AgentError } from "../errors.ts";
import { ProcessRuntime, type ProcessRuntimeOptions } from "./process.ts";
import type { Runtime, RuntimeRequest, RuntimeResult } from "./runtime.ts";

export interface InContainerRuntimeOptions extends ProcessRuntimeOptions {
  /**
   * The image this container runs. A container step naming another image
   * fails instead of running in the wrong one (its queue belongs to
   * another pool).
   */
  image: string;
  /**
   * A symlink pointed at the attempt's job folder before each step, so a
   * step that hard-codes `/ferry/job` finds its files. Only one attempt can
   * own it: give it when the agent runs one step at a time.
   * @default none: steps find their files through `$FERRY_JOB_DIR`
   */
  jobLink?: string;
}

/**
 * Runs `container` steps as processes inside the container the agent itself
 * runs in: on Fargate, the step's own image, with Ferry's self-contained
 * agent injected as the entry point (see infra's Fargate pools). The step's
 * `entrypoint` + `command` run with the step contract of the process runtime
 * (input on stdin and in `FERRY_INPUT_FILE`, output from `.output.json` or
 * the last stdout line, its own process group, killed on timeout).
 */
export class InContainerRuntime implements Runtime {
  readonly name = "in-container";
  private readonly process: ProcessRuntime;
  /** The process runtime's: it writes the input file on its way to the spawn. */
  get writesInputFile(): boolean {
    return this.process.writesInputFile;
  }

  constructor(private readonly options: InContainerRuntimeOptions) {
    this.process = new ProcessRuntime(options);
  }

  async run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "container") {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" is a ${runtime.kind} step, not a container step`,
      );
    }
    if (runtime.image !== this.options.image) {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" runs image "${runtime.image}", but this worker's container is "${this.options.image}"; its message belongs to another pool's queue`,
      );
    }
    const command = [...(runtime.entrypoint ?? []), ...(runtime.command ?? [])];
    if (command.length === 0) {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" names no command; in its own container Ferry cannot read the image's default CMD`,
      );
    }
    if (this.options.jobLink) await pointLink(this.options.jobLink, request.jobDir);
    return this.process.run({
      ...request,
      step: {
        ...request.step,
        runtime: {
          kind: "process",
          command,
          env: runtime.env,
          ...(runtime.workingDir ? { workingDir: runtime.workingDir } : {}),
        },
      },
    });
  }
}

/** Replaces the link atomically: a step never sees it missing or half-made. */
async function pointLink(link: string, target: string): Promise<void> {
  await mkdir(dirname(link), { recursive: true });
  const next = `${link}.next-${process.pid}`;
  await rm(next, { force: true });
  await symlink(target, next);
  await rename(next, link);
}
