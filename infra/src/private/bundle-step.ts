import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";
import { InfraError } from "../errors.ts";

const require = createRequire(import.meta.url);
const WORKER = fileURLToPath(new URL("./bundle-worker.mjs", import.meta.url));

/** What the spec's `function.handler` names, e.g. `functions/examples/load.ts#handler`. */
export interface StepHandlerRef {
  /** Relative to `projectRoot`. */
  file: string;
  exportName: string;
}

/**
 * Lambda code for function steps, one asset per distinct handler: a tiny
 * generated entry imports the user's export and wraps it with Ferry's SQS
 * adapter, bundled locally with esbuild (no Docker) into a scratch
 * directory that CDK stages like any asset directory. The step's identity
 * comes from the function's environment, so steps sharing a handler share
 * the asset. Call `cleanup()` once every function using the code exists.
 */
export class StepBundler {
  private readonly cache = new Map<string, lambda.Code>();
  private readonly scratch: string[] = [];

  constructor(private readonly projectRoot: string) {}

  code(scope: IConstruct, ref: StepHandlerRef): lambda.Code {
    const key = `${ref.file}#${ref.exportName}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const code = lambda.Code.fromAsset(this.bundle(scope, ref));
    this.cache.set(key, code);
    return code;
  }

  /** Removes the scratch directories; CDK has copied the bundles into the cloud assembly by then. */
  cleanup(): void {
    for (const dir of this.scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  private bundle(scope: IConstruct, ref: StepHandlerRef): string {
    const handlerFile = resolve(this.projectRoot, ref.file);
    if (!existsSync(handlerFile)) {
      throw new InfraError(
        "HANDLER_NOT_FOUND",
        scope,
        `function handler file not found: "${ref.file}" resolves to ${handlerFile}; handler paths are relative to the project root ${this.projectRoot} — fix the step's function.handler or pass the right projectRoot`,
      );
    }
    const entry = [
      `import { createSqsHandler } from ${JSON.stringify(require.resolve("@ferry/functions/lambda"))};`,
      `import { ${ref.exportName} as userHandler } from ${JSON.stringify(handlerFile)};`,
      // The bundle hashes itself for the step cache: a code change is a miss.
      "export const handler = createSqsHandler(userHandler, { codeFile: new URL(import.meta.url) });",
      "",
    ].join("\n");
    const outDir = mkdtempSync(join(tmpdir(), "ferry-bundle-"));
    this.scratch.push(outDir);
    runBundleWorker(scope, ref, { entry, resolveDir: this.projectRoot, outfile: join(outDir, "index.mjs") });
    return outDir;
  }
}

/** The generated bundle's module and export, for `lambda.Function#handler`. */
export const STEP_BUNDLE_HANDLER = "index.handler";

function runBundleWorker(
  scope: IConstruct,
  ref: StepHandlerRef,
  request: { entry: string; resolveDir: string; outfile: string },
): void {
  const run = spawnSync(process.execPath, [WORKER], {
    input: JSON.stringify(request),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  let reply: { ok: boolean; errors?: string[] } | undefined;
  try {
    reply = JSON.parse(run.stdout) as { ok: boolean; errors?: string[] };
  } catch {
    // No JSON reply: the worker itself failed to start; its stderr says why.
    reply = undefined;
  }
  if (run.status === 0 && reply?.ok) return;
  const why =
    reply?.errors?.join("\n  ") ?? (run.error?.message || run.stderr.trim() || `exit code ${run.status}`);
  throw new InfraError(
    "BUNDLING_FAILED",
    scope,
    `esbuild could not bundle function handler "${ref.file}#${ref.exportName}":\n  ${why}\nfix the handler module (it must export "${ref.exportName}") and synthesize again`,
  );
}
