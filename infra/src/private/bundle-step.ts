import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
 *
 * Bundles are cached by content in `<projectRoot>/.ferry/bundles/`: a bundle
 * is reused while the entry, esbuild, the bundling options and the content of
 * every file it was made from are unchanged (each file's sha256 is checked).
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
    const cache = new BundleCache(join(this.projectRoot, ".ferry", "bundles"), entry, this.projectRoot);
    const cached = cache.lookup();
    if (cached) return cached;
    const outDir = mkdtempSync(join(tmpdir(), "ferry-bundle-"));
    this.scratch.push(outDir);
    const outfile = join(outDir, "index.mjs");
    const inputs = runBundleWorker(scope, ref, { entry, resolveDir: this.projectRoot, outfile });
    return cache.store(outfile, inputs) ?? outDir;
  }
}

/** What every cache key includes besides the entry: the bundling code and esbuild's version. */
let bundlerIdentity: string | undefined;
function bundlerVersion(): string {
  bundlerIdentity ??= createHash("sha256")
    .update(readFileSync(WORKER))
    .update(
      (JSON.parse(readFileSync(require.resolve("esbuild/package.json"), "utf8")) as { version: string })
        .version,
    )
    .digest("hex");
  return bundlerIdentity;
}

const sha256File = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * One entry's bundles: `<key>.json` records the sha256 of each input file and
 * of the bundle, whose folder `<bundle sha256>/index.mjs` is handed to CDK as
 * the asset. A cache that cannot be read or written only costs a rebuild.
 */
class BundleCache {
  private readonly record: string;

  constructor(
    private readonly dir: string,
    entry: string,
    private readonly resolveDir: string,
  ) {
    const key = createHash("sha256")
      .update(bundlerVersion())
      .update("\0")
      .update(resolveDir)
      .update("\0")
      .update(entry);
    this.record = join(dir, `${key.digest("hex")}.json`);
  }

  /** The folder of a bundle made from exactly the current inputs, if there is one. */
  lookup(): string | undefined {
    try {
      const { inputs, bundle } = JSON.parse(readFileSync(this.record, "utf8")) as {
        inputs: Record<string, string>;
        bundle: string;
      };
      for (const [file, hash] of Object.entries(inputs))
        if (sha256File(resolve(this.resolveDir, file)) !== hash) return undefined;
      const folder = join(this.dir, bundle);
      return sha256File(join(folder, "index.mjs")) === bundle ? folder : undefined;
    } catch {
      return undefined;
    }
  }

  /** Moves a fresh bundle into the cache; its folder there, or undefined when the cache is not writable. */
  store(outfile: string, inputs: string[]): string | undefined {
    try {
      const bundle = sha256File(outfile);
      const folder = join(this.dir, bundle);
      mkdirSync(this.dir, { recursive: true });
      const present =
        existsSync(join(folder, "index.mjs")) && sha256File(join(folder, "index.mjs")) === bundle;
      if (!present) {
        // Built aside and renamed in, so a concurrent synthesis never sees half a bundle.
        const staging = mkdtempSync(join(this.dir, ".staging-"));
        renameSync(outfile, join(staging, "index.mjs"));
        rmSync(folder, { recursive: true, force: true });
        try {
          renameSync(staging, folder);
        } catch {
          rmSync(staging, { recursive: true, force: true });
        }
      }
      const hashes = Object.fromEntries(
        inputs.map((file) => [file, sha256File(resolve(this.resolveDir, file))]),
      );
      const temp = `${this.record}.${process.pid}`;
      writeFileSync(temp, JSON.stringify({ inputs: hashes, bundle }));
      renameSync(temp, this.record);
      return folder;
    } catch {
      return undefined;
    }
  }
}

/** The generated bundle's module and export, for `lambda.Function#handler`. */
export const STEP_BUNDLE_HANDLER = "index.handler";

/**
 * The stack's notify function (`notify: { http }`): Ferry's own signing
 * handler from `@ferry/functions/notify`, bundled as step code is.
 * Returns the bundle's folder; the caller removes it after synthesis.
 */
export function bundleNotifyFunction(scope: IConstruct): string {
  const entry = [
    `import { createNotifyHandler } from ${JSON.stringify(require.resolve("@ferry/functions/notify"))};`,
    "export const handler = createNotifyHandler();",
    "",
  ].join("\n");
  const outDir = mkdtempSync(join(tmpdir(), "ferry-bundle-"));
  runBundleWorker(
    scope,
    { file: "@ferry/functions/notify", exportName: "createNotifyHandler" },
    { entry, resolveDir: outDir, outfile: join(outDir, "index.mjs") },
  );
  return outDir;
}

function runBundleWorker(
  scope: IConstruct,
  ref: StepHandlerRef,
  request: { entry: string; resolveDir: string; outfile: string },
): string[] {
  const run = spawnSync(process.execPath, [WORKER], {
    input: JSON.stringify(request),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  let reply: { ok: boolean; errors?: string[]; inputs?: string[] } | undefined;
  try {
    reply = JSON.parse(run.stdout) as { ok: boolean; errors?: string[]; inputs?: string[] };
  } catch {
    // No JSON reply: the worker itself failed to start; its stderr says why.
    reply = undefined;
  }
  if (run.status === 0 && reply?.ok) return reply.inputs ?? [];
  const why =
    reply?.errors?.join("\n  ") ?? (run.error?.message || run.stderr.trim() || `exit code ${run.status}`);
  throw new InfraError(
    "BUNDLING_FAILED",
    scope,
    `esbuild could not bundle function handler "${ref.file}#${ref.exportName}":\n  ${why}\nfix the handler module (it must export "${ref.exportName}") and synthesize again`,
  );
}
