import { type ChildProcess, spawn } from "node:child_process";
import { isAbsolute, resolve } from "node:path";
import { StreamCapture } from "../capture.ts";
import { AgentError } from "../errors.ts";
import type { StepGroupRecorder } from "../orphans.ts";
import type { StepUser } from "../step-user.ts";
import {
  contractEnv,
  MAX_OUTPUT_LINE_BYTES,
  plainValues,
  type Runtime,
  type RuntimeRequest,
  type RuntimeResult,
} from "./runtime.ts";

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
  private readonly groups: StepGroupRecorder | undefined;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.projectDir = options.projectDir ?? process.cwd();
    this.killGraceMs = options.killGraceMs ?? 5000;
    this.stepUser = options.stepUser;
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
    const cwd = runtime.workingDir
      ? isAbsolute(runtime.workingDir)
        ? runtime.workingDir
        : resolve(this.projectDir, runtime.workingDir)
      : this.projectDir;
    const env = {
      ...this.baseEnv,
      ...plainValues(request.step.name, runtime.env),
      ...contractEnv(request, request.jobDir),
    };
    const [file, argv] = this.stepUser ? this.stepUser.command(program!, args) : [program!, args];
    let child: ChildProcess;
    try {
      child = spawn(file, argv, { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      return Promise.reject(
        new AgentError("RUNTIME_FAILED", `cannot start "${program}": ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    const groups = this.groups;
    if (!groups || child.pid === undefined) return this.watch(child, program!, request);
    const pid = child.pid;
    let unrecorded: unknown;
    const recorded = groups
      .started(pid, { step: request.step.name, jobDir: request.jobDir })
      .catch((error) => {
        // Unrecorded, it could outlive a crash unseen: never let it run.
        unrecorded = error;
        signalGroup(child, "SIGKILL");
      });
    return this.watch(child, program!, request).then(async (result) => {
      await recorded;
      await groups.ended(pid);
      if (unrecorded !== undefined)
        throw new AgentError(
          "RUNTIME_FAILED",
          `cannot record the process of step "${request.step.name}": ${(unrecorded as Error).message}`,
          { cause: unrecorded },
        );
      return result;
    });
  }

  private watch(child: ChildProcess, program: string, request: RuntimeRequest): Promise<RuntimeResult> {
    const stdout = new StreamCapture(request.logCapBytes, MAX_OUTPUT_LINE_BYTES);
    const stderr = new StreamCapture(request.logCapBytes, 0);
    child.stdout!.on("data", (chunk: Buffer) => stdout.write(chunk));
    child.stderr!.on("data", (chunk: Buffer) => stderr.log.write(chunk));
    // A step that never reads stdin closes it early; EPIPE is then expected.
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(request.inputJson);

    return new Promise((resolvePromise, reject) => {
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        aborted = true;
        signalGroup(child, "SIGTERM");
        killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), this.killGraceMs);
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
      let drainTimer: NodeJS.Timeout | undefined;
      child.once("exit", () => {
        // Whatever the step left behind in its group goes with it.
        signalGroup(child, "SIGKILL");
        // A daemon that left the group (setsid) may still hold stdout open: stop waiting for it.
        drainTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, STDIO_DRAIN_MS);
        drainTimer.unref?.();
      });
      child.once("close", (code) => {
        request.signal.removeEventListener("abort", stop);
        clearTimeout(killTimer);
        clearTimeout(drainTimer);
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

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
