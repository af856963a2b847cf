// One `function` step in its own Node process (started by FunctionRuntime):
// imports the handler and calls it through the one function host,
// `runFunctionStep`, with the step message from its file, then writes the
// `StepResult` to the result file. Kept tiny: everything else (timeouts, logs,
// staging, large outputs) is the worker's job.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { StepMessage } from "@ferry/dsl-compiler/contract";
import { toTaskFailure } from "@ferry/dsl-compiler/contract";
import { InvalidHandlerError, runFunctionStep, type StepHandler, type StepResult } from "@ferry/functions";

/** Loads a handler module from its file URL. */
export type ModuleImporter = (url: string) => Promise<Record<string, unknown>>;

/** Runs the step that FERRY_FUNCTION_* name; exits non-zero (exitCode) when the handler failed. */
export async function runFunctionHost(importModule: ModuleImporter): Promise<void> {
  const file = process.env.FERRY_FUNCTION_FILE!;
  const exportName = process.env.FERRY_FUNCTION_EXPORT!;
  const resultPath = process.env.FERRY_FUNCTION_RESULT!;
  const message = JSON.parse(readFileSync(process.env.FERRY_FUNCTION_MESSAGE!, "utf8")) as StepMessage;
  let result: StepResult;
  try {
    const module = await importModule(pathToFileURL(file).href);
    const handler = module[exportName];
    if (typeof handler !== "function") {
      throw new InvalidHandlerError(
        `${file} has no exported function "${exportName}" (exports: ${Object.keys(module).join(", ") || "none"})`,
      );
    }
    result = await runFunctionStep(handler as StepHandler, message, {
      jobDir: process.env.FERRY_JOB_DIR!,
      // The worker stores outputs over the payload limit as job files.
      maxOutputBytes: Number.POSITIVE_INFINITY,
    });
  } catch (thrown) {
    result = { ok: false, failure: toTaskFailure(thrown) };
  }
  if (!result.ok) {
    process.stderr.write(`${result.failure.error}: ${result.failure.cause}\n`);
    process.exitCode = 1;
  }
  writeFileSync(resultPath, JSON.stringify(result));
}
