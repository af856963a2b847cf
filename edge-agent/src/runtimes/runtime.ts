import {
  isSecretValue,
  type ManifestStep,
  type MaybeSecret,
  type StepInput,
  type StepMessage,
  type TaskFailure,
} from "@ferry/dsl-compiler/contract";
import type { RunIdentity } from "@ferry/functions/cache";
import { AgentError } from "../errors.ts";

/** What a runtime needs to run one attempt of a step. */
export interface RuntimeRequest {
  /** The trusted definition, from the manifest. */
  step: ManifestStep;
  input: StepInput;
  /** `input` serialized once; written to stdin. */
  inputJson: string;
  /** Where the execution's job files live (the message's `jobFiles`). */
  jobFiles: { bucket: string; prefix: string };
  /** Host folder holding the attempt's job files (mounted at `/ferry/job` in containers). */
  jobDir: string;
  /** `FERRY_*` variables the worker sets (execution, step, attempt…); the runtime adds the job-dir ones. */
  env: Record<string, string>;
  /** Aborted on timeout, task timeout reported by a heartbeat, shutdown or cancellation: stop the step. */
  signal: AbortSignal;
  /** Cap on each of stdout and stderr kept as the step's log. */
  logCapBytes: number;
}

/** What came back from one attempt. Steps that fail report it here; runtimes throw only when they could not run the step. */
export interface RuntimeResult {
  /** `null` when killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Bytes the step wrote to each stream, kept or not. */
  stdoutBytes: number;
  stderrBytes: number;
  /** Last non-blank stdout line (the output contract), when one was short enough to keep. */
  lastStdoutLine?: string;
  /** Set by runtimes that produce a value directly (function, http). */
  output?: { value: unknown };
  /** Set by runtimes that know the failure's name (a function's thrown error, an HTTP status). */
  failure?: TaskFailure;
  /** True when the step was stopped through `signal`. */
  aborted: boolean;
}

/**
 * What exactly a step runs on this worker, beyond its manifest definition:
 * the image digest the engine resolves its tag to, or the hash of its code.
 * Keys the step cache and goes into provenance.
 */
export type { RunIdentity };

/**
 * Runs one kind of step. Implementations: process, docker (also podman),
 * function, http. All of them honour the same contract, checked by one
 * shared test suite.
 */
export interface Runtime {
  /** For logs: `process`, `docker`, `podman`, `function`, `http`. */
  readonly name: string;
  run(request: RuntimeRequest): Promise<RuntimeResult>;
  /**
   * What `step` runs here (see {@link RunIdentity}); `{}` when it cannot
   * tell yet (an image not pulled). Absent: the definition says it all.
   */
  identify?(step: ManifestStep): Promise<RunIdentity>;
  /**
   * True when the runtime writes the input file (`FERRY_INPUT_FILE`) itself
   * on the way to starting the step; else the runner writes it before `run`.
   */
  readonly writesInputFile?: boolean;
  /**
   * True when steps get their input only as an argument and no input file
   * is written: a function run in-process, as the Lambda adapter runs it.
   */
  readonly takesInputAsArgument?: boolean;
  /** Releases engine connections. */
  close?(): Promise<void>;
}

/** Longest stdout line kept to read the output from. */
export const MAX_OUTPUT_LINE_BYTES = 64 * 1024 * 1024;

/** The environment the step contract promises, for a job folder seen at `jobDir`. */
export function contractEnv(request: RuntimeRequest, jobDir: string): Record<string, string> {
  // Never the input itself: the environment shows in `docker inspect` and /proc/<pid>/environ.
  return { ...request.env, FERRY_JOB_DIR: jobDir, FERRY_INPUT_FILE: `${jobDir}/.input.json` };
}

/**
 * The step message a function handler's host gets for an attempt: the
 * attempt's facts without its task token, which only the worker answers with.
 */
export function handlerMessage(request: RuntimeRequest): StepMessage {
  return {
    v: 1,
    token: "worker",
    workflow: request.env.FERRY_WORKFLOW ?? "",
    execution: request.env.FERRY_EXECUTION ?? "",
    step: request.step.name,
    attempt: Number(request.env.FERRY_ATTEMPT ?? 1),
    input: request.input,
    jobFiles: request.jobFiles,
  };
}

/**
 * An env or header map whose secret references the worker has already
 * replaced with their values; one left over is refused, never passed on as
 * `[object Object]`.
 */
export function plainValues(step: string, map: Record<string, MaybeSecret>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (isSecretValue(value)) {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${step}": ${key} references secret ${value.secret}, which was not resolved before the step ran`,
      );
    }
    out[key] = value;
  }
  return out;
}
