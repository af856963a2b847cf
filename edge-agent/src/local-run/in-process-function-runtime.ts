import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type ManifestStep, sha256 } from "@ferry/dsl-compiler/contract";
import { runFunctionStep, type StepHandler } from "@ferry/functions";
import { build } from "esbuild";
import { AgentError } from "../errors.ts";
import {
  handlerMessage,
  type RunIdentity,
  type Runtime,
  type RuntimeRequest,
  type RuntimeResult,
} from "../runtimes/runtime.ts";

/**
 * Runs `function` steps inside the `ferry run` process, through the same
 * adapter the Lambda handler uses, so a handler behaves locally as it will
 * on AWS. Handler files resolve against the project folder.
 */
export class InProcessFunctionRuntime implements Runtime {
  readonly name = "function";
  // As on Lambda: the handler gets its input as the argument, and no `.input.json` (one file less per foreach item).
  readonly takesInputAsArgument = true;
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();
  private readonly codeHashes = new Map<string, Promise<string>>();

  constructor(private readonly projectDir: string) {}

  async run(request: RuntimeRequest): Promise<RuntimeResult> {
    const runtime = request.step.runtime;
    if (runtime.kind !== "function")
      throw new AgentError(
        "RUNTIME_FAILED",
        `step "${request.step.name}" is a ${runtime.kind} step, not a function step`,
      );
    const module = await this.load(runtime.file, request.step.name);
    const result = await runFunctionStep(module[runtime.exportName] as StepHandler, handlerMessage(request), {
      signal: request.signal,
      jobDir: request.jobDir,
    });
    const base = { stdout: "", stderr: "", stdoutBytes: 0, stderrBytes: 0, aborted: request.signal.aborted };
    return result.ok
      ? { ...base, exitCode: 0, output: { value: result.output } }
      : {
          ...base,
          exitCode: 1,
          stderr: `${result.failure.error}: ${result.failure.cause}\n`,
          failure: result.failure,
        };
  }

  /**
   * The hash of the handler bundled with everything it imports (esbuild,
   * as the Lambda bundle is made), so an edit to any module it uses is new code.
   */
  identify(step: ManifestStep): Promise<RunIdentity> {
    if (step.runtime.kind !== "function") return Promise.resolve({});
    const path = this.pathOf(step.runtime.file);
    let hash = this.codeHashes.get(path);
    if (!hash) {
      hash = bundleHash(path);
      // Handler files may change between runs, not within one: hashed once per run.
      this.codeHashes.set(path, hash);
      hash.catch(() => this.codeHashes.delete(path));
    }
    return hash.then((codeHash) => ({ codeHash }));
  }

  private pathOf(file: string): string {
    return isAbsolute(file) ? file : join(this.projectDir, file);
  }

  private load(file: string, step: string): Promise<Record<string, unknown>> {
    const path = this.pathOf(file);
    let module = this.modules.get(path);
    if (!module) {
      module = import(pathToFileURL(path).href).catch((error: unknown) => {
        this.modules.delete(path);
        throw new AgentError(
          "RUNTIME_FAILED",
          `step "${step}": cannot load handler file ${file} (${(error as Error).message}); paths are relative to ${this.projectDir}`,
          { cause: error },
        );
      });
      this.modules.set(path, module);
    }
    return module;
  }
}

/** sha256 of the handler's bundle: its own code and every local module it imports (packages stay external). */
async function bundleHash(path: string): Promise<string> {
  const out = await build({
    entryPoints: [path],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  return sha256(out.outputFiles.map((f) => f.text).join("\n"));
}
