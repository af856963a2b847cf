import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SqsEvent } from "../lambda/sqs-event.ts";
import type { BatchInvoker, InvokeOutcome } from "./function-host.ts";

/** Resolved on use: bundles that include this module (the agent's, CommonJS) have no `import.meta.url`. */
const runtimeScript = () => fileURLToPath(new URL("./lambda-runtime.mjs", import.meta.url));

/** Lambda's limit on a function's init phase (on-demand). */
const INIT_TIMEOUT_MS = 10_000;

/** A deployed function, as its CloudFormation resource describes it. */
export interface LambdaFunctionSpec {
  /** For logs and `AWS_LAMBDA_FUNCTION_NAME`. */
  name: string;
  /** The bundle's module file (`index.mjs` in the asset folder). */
  moduleFile: string;
  /** Its export Lambda calls (`handler` of `index.handler`). */
  exportName: string;
  /** `Timeout`: an invocation still running after it is stopped. */
  timeoutSeconds: number;
  /** `MemorySize`: the environment's V8 heap limit. */
  memoryMiB: number;
  /** The process environment: the function's variables, plus credentials and region. */
  environment: Record<string, string>;
}

/** A file an environment loaded from the function's code folder. */
export interface LoadedModule {
  /** Relative to the code folder. */
  path: string;
  /** Of the bytes Node loaded. */
  sha256: string;
  bytes: number;
}

export interface LambdaFunctionPoolOptions {
  /** Each line the function writes, as Lambda sends it to CloudWatch Logs. */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
  /** @default process.execPath */
  nodePath?: string;
  /** Called when an environment finished its init (the cold start), with what it loaded. */
  onReady?: (info: { initMs: number; modules: LoadedModule[] }) => void;
}

/** Figures of one environment, for logs and benchmarks. */
export interface InvocationReport {
  coldStart: boolean;
  initMs?: number;
  durationMs: number;
}

/**
 * Execution environments of one function for `ferry functions serve`: each
 * a Node process (lambda-runtime.mjs) that imports the deployed bundle once
 * and runs one invocation at a time (so there are as many environments as
 * invocations in flight, which `FunctionHost`'s concurrency bounds), with the function's memory as its heap
 * limit (`--max-old-space-size`) and its timeout enforced by stopping the
 * process, after which the next invocation starts cold, as on Lambda.
 */
export class LambdaFunctionPool implements BatchInvoker {
  private readonly idle: LambdaEnvironment[] = [];
  private readonly all = new Set<LambdaEnvironment>();
  private closed = false;
  /** The last invocation's figures. */
  lastReport: InvocationReport | undefined;

  constructor(
    readonly spec: LambdaFunctionSpec,
    private readonly options: LambdaFunctionPoolOptions = {},
  ) {}

  async invoke(event: SqsEvent): Promise<InvokeOutcome> {
    if (this.closed)
      return { kind: "error", errorType: "Ferry.ServeError", errorMessage: "the host is stopping" };
    const env = this.idle.pop() ?? this.spawn();
    const cold = !env.initialized;
    const started = performance.now();
    const outcome = await env.invoke(event);
    this.lastReport = {
      coldStart: cold,
      ...(cold && env.initMs !== undefined ? { initMs: env.initMs } : {}),
      durationMs: performance.now() - started,
    };
    if (env.alive && !this.closed) this.idle.push(env);
    else this.all.delete(env);
    return outcome;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.all([...this.all].map((env) => env.stop()));
    this.all.clear();
  }

  private spawn(): LambdaEnvironment {
    const env = new LambdaEnvironment(this.spec, this.options);
    this.all.add(env);
    return env;
  }
}

/** One execution environment: a Node process holding the imported bundle. */
class LambdaEnvironment {
  initialized = false;
  initMs: number | undefined;
  alive = true;
  private readonly child: ChildProcess;
  private readonly ready: Promise<InvokeOutcome | undefined>;
  private readonly exited: Promise<string>;
  private stderrTail = "";

  constructor(
    private readonly spec: LambdaFunctionSpec,
    options: LambdaFunctionPoolOptions,
  ) {
    this.child = spawn(
      options.nodePath ?? process.execPath,
      [`--max-old-space-size=${spec.memoryMiB}`, runtimeScript()],
      {
        env: {
          ...spec.environment,
          AWS_LAMBDA_FUNCTION_NAME: spec.name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMiB),
          FERRY_LAMBDA_BUNDLE: spec.moduleFile,
          FERRY_LAMBDA_HANDLER_EXPORT: spec.exportName,
        },
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      },
    );
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = createInterface({ input: this.child[stream]! });
      lines.on("line", (line) => {
        if (stream === "stderr") this.stderrTail = `${this.stderrTail}${line}\n`.slice(-4096);
        options.onLog?.(line, stream);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.alive = false;
        resolve(signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`);
      });
      this.child.on("error", (error) => {
        this.alive = false;
        resolve(error.message);
      });
    });
    this.ready = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve(fail("Runtime.InitError", `init did not finish within ${INIT_TIMEOUT_MS / 1000} s`));
      }, INIT_TIMEOUT_MS);
      const onMessage = (message: {
        type?: string;
        initMs?: number;
        modules?: LoadedModule[];
        errorType?: string;
        errorMessage?: string;
      }) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          this.initMs = message.initMs;
          options.onReady?.({ initMs: message.initMs ?? 0, modules: message.modules ?? [] });
          resolve(undefined);
        } else if (message.type === "init-error") {
          clearTimeout(timer);
          resolve(fail(message.errorType ?? "Runtime.InitError", message.errorMessage ?? "init failed"));
        }
      };
      this.child.on("message", onMessage);
      void this.exited.then((how) => {
        clearTimeout(timer);
        resolve(fail("Runtime.ExitError", `Runtime exited during init with error: ${how}${this.tail()}`));
      });
    });
  }

  async invoke(event: SqsEvent): Promise<InvokeOutcome> {
    const initError = await this.ready;
    this.initialized = true;
    if (initError) {
      this.kill();
      return initError;
    }
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const deadlineMs = Date.now() + timeoutMs;
    return new Promise<InvokeOutcome>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda stops the environment at the timeout; nothing the handler does afterwards counts.
        this.kill();
        resolve(
          fail("Sandbox.Timedout", `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`),
        );
      }, timeoutMs);
      const onMessage = (message: {
        type?: string;
        id?: string;
        response?: unknown;
        errorType?: string;
        errorMessage?: string;
      }) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        this.child.off("message", onMessage);
        if (message.type === "result") resolve({ kind: "response", response: message.response });
        else resolve(fail(message.errorType ?? "Error", message.errorMessage ?? ""));
      };
      this.child.on("message", onMessage);
      void this.exited.then((how) => {
        clearTimeout(timer);
        const oom = /heap out of memory|Reached heap limit/.test(this.stderrTail);
        resolve(
          oom
            ? fail(
                "Runtime.OutOfMemory",
                `Runtime exited with error: ${how} (memory limit ${this.spec.memoryMiB} MB reached)`,
              )
            : fail("Runtime.ExitError", `Runtime exited with error: ${how}${this.tail()}`),
        );
      });
      try {
        this.child.send({ type: "invoke", id, event, deadlineMs, requestId: id });
      } catch {
        // The environment died just now: its exit, above, reports it.
        this.kill();
      }
    });
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.disconnect();
    const timer = setTimeout(() => this.kill(), 2000);
    await this.exited;
    clearTimeout(timer);
  }

  private kill(): void {
    this.alive = false;
    this.child.kill("SIGKILL");
  }

  private tail(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; stderr ends with:\n${tail.slice(-1024)}` : "";
  }
}

function fail(errorType: string, errorMessage: string): InvokeOutcome {
  return { kind: "error", errorType, errorMessage };
}
