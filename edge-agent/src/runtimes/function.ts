import { readFile, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StepResult } from "@ferry/functions";
import { AgentError } from "../errors.ts";
import { DEFAULT_INHERITED_ENV, ProcessRuntime, type ProcessRuntimeOptions } from "./process.ts";
import { handlerMessage, type Runtime, type RuntimeRequest, type RuntimeResult } from "./runtime.ts";

const RESULT_FILE = ".function-result.json";
const MESSAGE_FILE = ".function-message.json";

export interface FunctionRuntimeOptions extends ProcessRuntimeOptions {
  /** Node binary. @default process.execPath */
  nodePath?: string;
  /**
   * Command that starts the function host (`runFunctionHost`) for one step.
   * The standalone agent passes its own binary with `function-host`.
   * @default [nodePath, "--import", tsx, function-host-main.ts]: from sources, TypeScript through tsx
   */
  hostCommand?: string[];
}

/** The function host from sources: Node with tsx loaded, running function-host-main.ts. */
function sourceHostCommand(nodePath: string): string[] {
  const script = fileURLToPath(new URL("./function-host-main.ts", import.meta.url));
  return [nodePath, "--import", import.meta.resolve("tsx"), script];
}

/**
 * Runs `function` steps on the edge: a Node child process (with tsx, so
 * TypeScript handlers work) imports `file` — relative to `projectDir` — and
 * calls `exportName(input, context)`. Its return value is the output; a
 * thrown error fails the task under the error's `taskError` or class name.
 * Same stdin/env/log contract as process steps.
 */
export class FunctionRuntime implements Runtime {
  readonly name = "function";
  private readonly processes: ProcessRuntime;
  private readonly projectDir: string;
  private readonly hostCommand: string[];

  constructor(options: FunctionRuntimeOptions = {}) {
    // Like process steps, the handler's process starts from a small environment: never the agent's credentials.
    this.processes = new ProcessRuntime({ inheritEnv: DEFAULT_INHERITED_ENV, ...options });
    this.projectDir = options.projectDir ?? process.cwd();
    this.hostCommand = options.hostCommand ?? sourceHostCommand(options.nodePath ?? process.execPath);
  }

  async run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "function") {
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" is a ${runtime.kind} step, not a function step`,
      );
    }
    const file = isAbsolute(runtime.file) ? runtime.file : resolve(this.projectDir, runtime.file);
    const resultPath = join(request.jobDir, RESULT_FILE);
    const messagePath = join(request.jobDir, MESSAGE_FILE);
    await writeFile(messagePath, JSON.stringify(handlerMessage(request)));
    const result = await this.processes.run({
      ...request,
      step: {
        ...request.step,
        runtime: {
          kind: "process",
          command: this.hostCommand,
          env: {
            ...runtime.env,
            FERRY_FUNCTION_FILE: file,
            FERRY_FUNCTION_EXPORT: runtime.exportName,
            FERRY_FUNCTION_RESULT: resultPath,
            FERRY_FUNCTION_MESSAGE: messagePath,
          },
        },
      },
    });
    if (result.aborted) return result;
    let reply: StepResult;
    try {
      reply = JSON.parse(await readFile(resultPath, "utf8"));
    } catch {
      // No result file: the host itself died (out of memory, killed); the exit code tells.
      return result;
    }
    return reply.ok ? { ...result, output: { value: reply.output } } : { ...result, failure: reply.failure };
  }
}
