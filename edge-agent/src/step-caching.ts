import type { CacheEntry, ManifestStep } from "@ferry/dsl-compiler/contract";
import type { RunIdentity } from "@ferry/functions/cache";
import type { Logger } from "@ferry/functions/worker";
import { messageOf } from "./errors.ts";
import type { Runtime, RuntimeResult } from "./runtimes/runtime.ts";

// The lookup, claim and write flow is shared with the Lambda adapter: `@ferry/functions/cache`.

/** What the runtime says it runs; a runtime that cannot tell (image not pulled) gives `{}`. */
export async function identifyRun(
  runtime: Runtime,
  step: ManifestStep,
  logger: Logger,
): Promise<RunIdentity> {
  try {
    return (await runtime.identify?.(step)) ?? {};
  } catch (error) {
    logger.warn({ err: error }, `could not identify what step "${step.name}" runs: ${messageOf(error)}`);
    return {};
  }
}

/** The runtime result a hit stands for: the recorded output, nothing run. */
export function cachedResult(entry: CacheEntry): RuntimeResult {
  return {
    exitCode: 0,
    stdout: "",
    stderr: "",
    stdoutBytes: 0,
    stderrBytes: 0,
    output: { value: entry.output },
    aborted: false,
  };
}
