import { isAbsolute, join, resolve } from "node:path";
import { isSea } from "node:sea";
import type { ManifestStep } from "@ferry/dsl-compiler/contract";
import { StreamCapture } from "../capture.ts";
import { AgentError } from "../errors.ts";
import { INPUT_FILE } from "../job-paths.ts";
import type { StepGroupRecorder } from "../orphans.ts";
import type { StepUser } from "../step-user.ts";
import { scriptFilesHash } from "./code-identity.ts";
import {
  contractEnv,
  MAX_OUTPUT_LINE_BYTES,
  plainValues,
  type RunIdentity,
  type Runtime,
  type RuntimeRequest,
  type RuntimeResult,
} from "./runtime.ts";
import { HelperSpawner, InlineSpawner, type Spawner, type StepProcess } from "./spawner.ts";

/** How long output may keep flowing after the step's process exited. */
const STDIO_DRAIN_MS = 2000;

/** Variables a process step inherits from the agent unless told otherwise. */
export const DEFAULT_INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"];

export interface ProcessRuntimeOptions {
  /**
   * Folder relative `workingDir`s resolve against, and the working directory
   * of steps that name none.
   * @default process.cwd()
   */
  projectDir?: string;
  /**
   * Agent variables a step inherits: a list of names, or `true` for all. The
   * agent's own credentials never leak into steps by default.
   * @default DEFAULT_INHERITED_ENV
   */
  inheritEnv?: boolean | string[];
  /**
   * Time between SIGTERM and SIGKILL when a step is stopped.
   * @default 5000
   */
  killGraceMs?: number;
  /**
   * Run steps as this user (through `setpriv`: no groups, no capabilities,
   * no_new_privs), with `HOME`/`USER` set for it. The environment is still
   * built from scratch: only `inheritEnv` names pass, `true` meaning
   * DEFAULT_INHERITED_ENV here.
   * @default the agent's own user
   */
  stepUser?: StepUser;
  /**
   * How step processes are started: `helper` from a small long-lived helper
   * process (cheap forks, off the agent's event loop), `inline` by forking
   * the agent itself.
   * @default "helper", but "inline" in the single-executable agent, which
   * carries no bare Node.js to start the helper with
   * (`process.execPath` is the agent itself there)
   */
  spawner?: "helper" | "inline";
  /**
   * Told when each step's process group starts and ends, so that an agent
   * restarted after a crash can stop groups its predecessor left running.
   * @default none
   */
  groups?: StepGroupRecorder;
}

/**
 * Runs `process` steps as child processes, each leading its own process
 * group so that stopping a step also stops everything it started.
 */
export class ProcessRuntime implements Runtime {
  readonly name = "process";
  private readonly projectDir: string;
  private readonly baseEnv: Record<string, string>;
  private readonly killGraceMs: number;
  private readonly stepUser: StepUser | undefined;
  private readonly spawner: Spawner;
  /** Without a step user the spawner writes the input file on its way to the spawn; a step user's is handed over with the folder. */
  readonly writesInputFile: boolean;
  private readonly groups: StepGroupRecorder | undefined;

  constructor(options: ProcessRuntimeOptions = {}) {
    const inline = options.spawner === "inline" || (options.spawner === undefined && isSea());
    this.spawner = inline ? new InlineSpawner() : new HelperSpawner();
    this.projectDir = options.projectDir ?? process.cwd();
    this.killGraceMs = options.killGraceMs ?? 5000;
    this.stepUser = options.stepUser;
    this.writesInputFile = !this.stepUser;
    this.groups = options.groups;
    let inherit = options.inheritEnv ?? DEFAULT_INHERITED_ENV;
    // Another user's steps never see the whole agent environment.
    if (this.stepUser && inherit === true) inherit = DEFAULT_INHERITED_ENV;
    this.baseEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && (inherit === true || (Array.isArray(inherit) && inherit.includes(key)))) {
        this.baseEnv[key] = value;
      }
    }
    if (this.stepUser) Object.assign(this.baseEnv, this.stepUser.identityEnv());
  }

  /** The hash of the script files the command names, so an edited script is new code. */
  async identify(step: ManifestStep): Promise<RunIdentity> {
    if (step.runtime.kind !== "process") return {};
    const codeHash = scriptFilesHash(step.runtime.command, this.cwdOf(step.runtime.workingDir));
    return codeHash ? { codeHash } : {};
  }

  private cwdOf(workingDir: string | undefined): string {
    if (!workingDir) return this.projectDir;
    return isAbsolute(workingDir) ? workingDir : resolve(this.projectDir, workingDir);
  }

  run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "process") {
      return Promise.reject(
        new AgentError(
          "RUNTIME_FAILED",
          `step "${request.step.name}" is a ${runtime.kind} step, not a process step`,
        ),
      );
    }
    const [program, ...args] = runtime.command;
    const cwd = this.cwdOf(runtime.workingDir);
    const env = {
      ...this.baseEnv,
      ...plainValues(request.step.name, runtime.env),
      ...contractEnv(request, request.jobDir),
    };
    const [file, argv] = this.stepUser ? this.stepUser.command(program!, args) : [program!, args];
    let child: StepProcess;
    try {
      child = this.spawner.spawn({
        file,
        args: argv,
        cwd,
        env,
        input: request.inputJson,
        ...(this.writesInputFile ? { inputFile: join(request.jobDir, INPUT_FILE) } : {}),
        drainMs: STDIO_DRAIN_MS,
        ...(this.groups ? { reportPid: true } : {}),
      });
    } catch (error) {
      return Promise.reject(
        new AgentError("RUNTIME_FAILED", `cannot start "${program}": ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    const groups = this.groups;
    if (!groups) return this.watch(child, program!, request);
    let unrecorded: unknown;
    const started = child;
    const recorded = child.pid.then(async (pid) => {
      if (pid === undefined) return undefined;
      try {
        await groups.started(pid, { step: request.step.name, jobDir: request.jobDir });
        return pid;
      } catch (error) {
        // Unrecorded, it could outlive a crash unseen: never let it run.
        unrecorded = error;
        started.signalGroup("SIGKILL");
        return undefined;
      }
    });
    return this.watch(child, program!, request).then(async (result) => {
      const pid = await recorded;
      if (pid !== undefined) await groups.ended(pid);
      if (unrecorded !== undefined)
        throw new AgentError(
          "RUNTIME_FAILED",
          `cannot record the process of step "${request.step.name}": ${(unrecorded as Error).message}`,
          { cause: unrecorded },
        );
      return result;
    });
  }

  /** Starts the spawner helper ahead of the first step (a run that is about to start steps). */
  warmUp(): void {
    this.spawner.warmUp();
  }

  close(): Promise<void> {
    return this.spawner.close();
  }

  private watch(child: StepProcess, program: string, request: RuntimeRequest): Promise<RuntimeResult> {
    const stdout = new StreamCapture(request.logCapBytes, MAX_OUTPUT_LINE_BYTES);
    const stderr = new StreamCapture(request.logCapBytes, 0);
    child.onStdout((chunk) => stdout.write(chunk));
    child.onStderr((chunk) => stderr.log.write(chunk));

    return new Promise((resolvePromise, reject) => {
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        aborted = true;
        child.signalGroup("SIGTERM");
        killTimer = setTimeout(() => child.signalGroup("SIGKILL"), this.killGraceMs);
        killTimer.unref?.();
      };
      if (request.signal.aborted) stop();
      else request.signal.addEventListener("abort", stop, { once: true });

      child.once("error", (error: NodeJS.ErrnoException) => {
        request.signal.removeEventListener("abort", stop);
        clearTimeout(killTimer);
        const hint = error.code === "ENOENT" ? " — is it installed and on PATH?" : "";
        reject(
          new AgentError("RUNTIME_FAILED", `cannot start "${program}": ${error.message}${hint}`, {
            cause: error,
          }),
        );
      });
      child.once("close", (code: number | null) => {
        request.signal.removeEventListener("abort", stop);
        clearTimeout(killTimer);
        resolvePromise({
          exitCode: code,
          stdout: stdout.log.text(),
          stderr: stderr.log.text(),
          stdoutBytes: stdout.log.totalBytes,
          stderrBytes: stderr.log.totalBytes,
          lastStdoutLine: stdout.lastLine.value(),
          aborted,
        });
      });
    });
  }
}
